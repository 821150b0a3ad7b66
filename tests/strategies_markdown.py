"""Hypothesis strategies for Markdown answers as LLMs write them.

Documents are composed from blocks (paragraphs, lists, quotes, tables,
code, HTML, headings, definitions) whose inline text mixes a small
Chinese + English vocabulary with emphasis, links, code, HTML, URLs,
entities and escapes.  ``WORDS`` are the product-like words tests look for;
none is a substring of another.
"""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["WORDS", "dense_emphasis", "documents", "inline_text", "plain_paragraphs"]

WORDS = ("理肤泉", "面膜", "适乐肤", "玉泽", "CeraVe", "Avene", "serum", "cream")
_FILLER = ("很好", "推荐", "的", "and", "for", "skin", "敏感肌", "是")
_PUNCT = (
    "，",
    "。",
    "、",
    "！",
    "（",
    "）",
    ",",
    ".",
    "!",
    "?",
    ":",
    "(",
    ")",
    "'",
    '"',
    "-",
    "\x00",
)

_word = st.sampled_from(WORDS + _FILLER)
_sep = st.sampled_from(["", " ", " ", "  "])


@st.composite
def _atom(draw: st.DrawFn) -> str:
    w = draw(_word)
    kind = draw(
        st.sampled_from(
            ["plain"] * 8
            + [
                "em",
                "strong",
                "under",
                "strong_under",
                "triple",
                "strike",
                "delim",
                "code",
                "link",
                "image",
                "autolink",
                "url",
                "www",
                "email",
                "html",
                "entity",
                "escape",
                "punct",
                "bracket",
                "refl",
                "bang",
            ]
        )
    )
    if kind == "plain":
        return w
    if kind == "em":
        return f"*{w}*"
    if kind == "strong":
        return f"**{w}**"
    if kind == "under":
        return f"_{w}_"
    if kind == "strong_under":
        return f"__{w}__"
    if kind == "triple":
        return f"***{w}***"
    if kind == "strike":
        return f"~~{w}~~"
    if kind == "delim":
        return draw(st.sampled_from(["*", "**", "_", "__", "~~", "***", "~"]))
    if kind == "code":
        return f"`{w}`"
    if kind == "link":
        return f"[{w}](https://a.test/{draw(st.integers(0, 9))})"
    if kind == "image":
        return f"![{w}](https://a.test/i.png)"
    if kind == "autolink":
        return draw(st.sampled_from(["<https://a.test/x>", "<me@a.test>"]))
    if kind == "url":
        return draw(st.sampled_from(["https://a.test/x", "https://a.test/" + w]))
    if kind == "www":
        return draw(st.sampled_from(["www.a.com", "www." + w + ".com", w + ".com"]))
    if kind == "email":
        return draw(st.sampled_from(["me@a.com", w + "@a.com"]))
    if kind == "html":
        return draw(
            st.sampled_from([f"<b>{w}</b>", "<br>", "<!-- c -->", f'<span class="x">{w}</span>'])
        )
    if kind == "entity":
        return draw(st.sampled_from(["&amp;", "&copy;", "&#35;", "&nbsp;"]))
    if kind == "escape":
        return draw(st.sampled_from(["\\*", "\\_", "\\[", "\\\\", "\\`"]))
    if kind == "punct":
        return draw(st.sampled_from(_PUNCT))
    if kind == "bracket":
        return draw(st.sampled_from([f"[{w}]", f"[a {w}]", "[", "]", f"[{w}][]"]))
    if kind == "refl":
        return f"[{w}][ref]"
    return "!" + w


@st.composite
def inline_text(draw: st.DrawFn, max_atoms: int = 8) -> str:
    """One line of inline Markdown."""
    atoms = draw(st.lists(_atom(), min_size=1, max_size=max_atoms))
    out = atoms[0]
    for a in atoms[1:]:
        out += draw(_sep) + a
    return out.strip() or "理肤泉"


@st.composite
def _paragraph(draw: st.DrawFn) -> list[str]:
    return draw(st.lists(inline_text(), min_size=1, max_size=3))


@st.composite
def _table(draw: st.DrawFn) -> list[str]:
    cols = draw(st.integers(1, 3))
    cell = inline_text(max_atoms=3).map(lambda s: s.replace("|", "\\|"))
    rows = draw(st.lists(st.lists(cell, min_size=cols, max_size=cols), min_size=1, max_size=3))
    header = draw(st.lists(st.sampled_from(WORDS + _FILLER), min_size=cols, max_size=cols))
    outer = draw(st.booleans())

    def row(cells: list[str]) -> str:
        body = " | ".join(cells)
        return f"| {body} |" if outer else body

    delim = "|".join(draw(st.sampled_from(["---", ":--", "--:", ":-:"])) for _ in range(cols))
    if outer or cols == 1:
        delim = f"|{delim}|"
    return [row(header), delim] + [row(r) for r in rows]


@st.composite
def _leaf(draw: st.DrawFn) -> list[str]:
    kind = draw(
        st.sampled_from(
            ["para"] * 6
            + ["heading", "setext", "table", "fence", "indented", "html", "hr", "def", "comment"]
        )
    )
    w = draw(_word)
    if kind == "para":
        return draw(_paragraph())
    if kind == "heading":
        return ["#" * draw(st.integers(1, 3)) + " " + draw(inline_text())]
    if kind == "setext":
        return [draw(inline_text()), draw(st.sampled_from(["===", "---"]))]
    if kind == "table":
        return draw(_table())
    if kind == "fence":
        return ["```", f"{w} *x* [a](b)", "```"]
    if kind == "indented":
        return ["", f"    {w} code", ""]
    if kind == "html":
        return ["<div>", f"{w} **x**", "</div>"]
    if kind == "hr":
        return [draw(st.sampled_from(["---", "***", "* * *", "___"]))]
    if kind == "def":
        return [f"[{draw(st.sampled_from(['ref', w]))}]: https://a.test/ref"]
    return ["<!--", f"{w}", "-->"]


@st.composite
def _block(draw: st.DrawFn, depth: int = 0) -> list[str]:
    kind = draw(st.sampled_from(["leaf"] * 4 + (["list", "olist", "quote"] if depth < 2 else [])))
    if kind == "leaf":
        return draw(_leaf())
    if kind == "quote":
        inner = draw(_block(depth + 1))
        out = ["> " + ln if ln else ">" for ln in inner]
        if draw(st.booleans()) and inner and inner[-1].strip() and not out[-1].startswith("> >"):
            out.append(draw(inline_text(max_atoms=3)))  # lazy continuation candidate
        return out
    items = draw(st.lists(_block(depth + 1), min_size=1, max_size=3))
    out = []
    for n, item in enumerate(items, start=1):
        marker = draw(st.sampled_from(["-", "*", "+"])) if kind == "list" else f"{n}."
        pad = " " * (len(marker) + 1)
        for i, ln in enumerate(item):
            if i == 0:
                out.append(f"{marker} {ln}")
            else:
                out.append(pad + ln if ln else "")
        if draw(st.booleans()):
            out.append("")
    return out


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A Markdown answer."""
    blocks = draw(st.lists(_block(), min_size=1, max_size=5))
    lines: list[str] = []
    for b in blocks:
        lines.extend(b)
        # mostly separated by a blank line, sometimes not (interruptions, laziness)
        if draw(st.integers(0, 3)):
            lines.append("")
    # some clients send CRLF (or, rarely, CR) line endings
    eol = draw(st.sampled_from(["\n"] * 6 + ["\r\n", "\r\n", "\r"]))
    return eol.join(lines)


@st.composite
def plain_paragraphs(draw: st.DrawFn) -> str:
    """Simple prose: words, spaces and punctuation, possibly with emphasis on words."""
    paras = []
    for _ in range(draw(st.integers(1, 3))):
        parts = []
        for _ in range(draw(st.integers(1, 8))):
            w = draw(_word)
            style = draw(st.sampled_from(["", "", "", "**", "*"]))
            parts.append(f"{style}{w}{style}")
            seps = ["", " ", "，", "。", ", ", ". "]
            # adjacent emphasis (`**a****b**`) is a different construct
            parts.append(draw(st.sampled_from(seps[1:] if style else seps)))
        paras.append("".join(parts).strip())
    return "\n\n".join(paras) + "\n"


@st.composite
def dense_emphasis(draw: st.DrawFn) -> str:
    """One paragraph of words packed between emphasis delimiters (``_玉泽*~~x~~***面膜*``).

    Where several links in one paragraph can re-pair emphasis together even
    though each alone keeps it.
    """
    delims = st.sampled_from(["", "", "*", "**", "_", "__", "~~", "***"])
    parts = []
    for _ in range(draw(st.integers(2, 7))):
        d = draw(delims)
        d2 = d if draw(st.integers(0, 4)) else draw(delims)
        parts.append(d + draw(_word) + d2[::-1])
        parts.append(draw(st.sampled_from(["", " ", "，", "x", "*", "_", "**"])))
    return "".join(parts).strip() + "\n"
