"""``_x_`` / ``__x__`` emphasis links like ``*x*`` / ``**x**``; no mention vanishes.

Issue 20, item 7.  A name inside underscore emphasis used never to be found:
the matcher counted ``_`` as a word character, so ``_Anker`` was no whole
word.  The product index now reads an ``_`` run that CommonMark could take
as emphasis (left- or right-flanking, not intraword) as a word boundary, and
the placement links inside it when markdown-it-py renders the same.

The second half is an accounting property: every hit the index finds in an
answer ends as a ``Link`` or a ``Skip`` with a reason, for Markdown and
HTML, every style, ``link()`` and streams.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shoplink
from shoplink import LinkResult, LinkStream, SkipReason
from shoplink._matcher import UNDERSCORE_RUN_MAX, Hit
from tests.conftest import catalog_from_rows, product_row
from tests.oracle import insert, render, same_rendering_with_links
from tests.strategies_markdown import WORDS, documents

CATALOG = catalog_from_rows(
    [
        product_row("anker", ["Anker 737"], title="Anker 737 Power Bank"),
        product_row("kindle", ["Kindle Paperwhite"], title="Kindle Paperwhite"),
        product_row("mask", ["理肤泉B5修复面膜"], title="理肤泉B5修复面膜"),
    ]
)
STYLES = ("inline", "card", "reference")
FORMS = {
    (style, fmt): shoplink.Linker(CATALOG, style=style, format=fmt)
    for style in STYLES
    for fmt in ("markdown", "html")
}
INLINE = FORMS["inline", "markdown"]
LABELS = {" (Sponsored)", "（广告）"}


def spans_of(
    items: Sequence[Hit] | Sequence[shoplink.Link] | Sequence[shoplink.Skip],
) -> list[tuple[int, int]]:
    return [(item.start, item.end) for item in items]


def assert_accounted(linker: shoplink.Linker, answer: str, result: LinkResult) -> None:
    """Every hit of the index in ``answer`` is a link or a skip with a reason; nothing else is."""
    hits = linker._snapshot.index.find(answer)
    for skip in result.skipped:
        assert isinstance(skip.reason, SkipReason), skip
    linked, skipped = spans_of(result.links), spans_of(result.skipped)
    assert not set(linked) & set(skipped), (answer, linked, skipped)
    assert sorted(linked + skipped) == spans_of(hits), (answer, result.links, result.skipped)


def streamed(
    linker: shoplink.Linker, chunks: Sequence[str], query: str | None = None
) -> tuple[str, LinkResult]:
    """Stream ``chunks``: the joined text, and the plan of the stream's last re-link (flush)."""
    results: list[LinkResult] = []
    original = linker._link_from

    def spy(*args: object, **kwargs: object) -> tuple[LinkResult, object]:
        result, carry = original(*args, **kwargs)  # type: ignore[arg-type]
        results.append(result)
        return result, carry

    watched = copy.copy(linker)
    watched.__dict__["_link_from"] = spy  # the stream copies the linker, spy and all
    stream = LinkStream(watched, query)
    text = "".join(stream.feed(chunk) for chunk in chunks) + stream.flush()
    answer = "".join(chunks)
    return text, results[-1] if results else linker.link(answer, query)


def every_cut(answer: str) -> list[list[str]]:
    """One character a chunk, then every single cut point."""
    out = [list(answer)]
    out += [[answer[:p], answer[p:]] for p in range(1, len(answer))]
    return out


def check_stream_like_link(linker: shoplink.Linker, answer: str, query: str | None = None) -> None:
    whole = linker.link(answer, query)
    assert_accounted(linker, answer, whole)
    for chunks in every_cut(answer):
        text, last = streamed(linker, chunks, query)
        assert text == whole.text, chunks
        assert_accounted(linker, answer, last)
        assert spans_of(last.links) == spans_of(whole.links)
        assert [(s.start, s.end, s.reason) for s in last.skipped] == [
            (s.start, s.end, s.reason) for s in whole.skipped
        ]


# ---------------------------------------------------------------------------
# names in underscore emphasis


EXAMPLES = [
    ("Try _Anker 737_ now.", ["Anker 737"]),
    ("Try __Kindle Paperwhite__ now.", ["Kindle Paperwhite"]),
    ("___Anker 737___ is small.", ["Anker 737"]),
    ("_**Anker 737**_ is small.", ["Anker 737"]),
    ("**_Anker 737_** is small.", ["Anker 737"]),
    ("__*Anker 737*__ and then *__Kindle Paperwhite__*.", ["Anker 737", "Kindle Paperwhite"]),
    ("- _Anker 737_: small\n- __Kindle Paperwhite__: light\n", ["Anker 737", "Kindle Paperwhite"]),
    ("| name | note |\n|---|---|\n| _Anker 737_ | small |\n", ["Anker 737"]),
    # CJK: full-width punctuation around the run is punctuation to CommonMark
    ("推荐：_Anker 737_。", ["Anker 737"]),
    ("「__Kindle Paperwhite__」很好用。", ["Kindle Paperwhite"]),
    ("推荐（_Anker 737_），另外也可以看看 **理肤泉B5修复面膜**。", ["Anker 737", "理肤泉B5修复面膜"]),
    # an opener with no closer is still a boundary: the ``_`` stays literal
    ("_Anker 737 has no closer", ["Anker 737"]),
]

NOT_EMPHASIS = [
    # intraword underscores are no emphasis and stay word characters
    "a_Anker 737_b",
    "snake_Anker 737",
    "Anker 737_bar",
    # between a Han character and a Latin one an ``_`` is intraword to CommonMark
    "推荐_Anker 737_吧",
    "_Anker 737_和_Kindle Paperwhite_",
    # a run longer than UNDERSCORE_RUN_MAX is never read as emphasis
    "x " + "_" * (UNDERSCORE_RUN_MAX + 1) + "Anker 737" + "_" * (UNDERSCORE_RUN_MAX + 1),
]


@pytest.mark.parametrize(("answer", "linked"), EXAMPLES)
def test_names_in_underscore_emphasis_link(answer: str, linked: list[str]) -> None:
    result = INLINE.link(answer)
    assert [link.mention for link in result.links] == linked
    assert not result.skipped
    assert result.strip() == answer
    assert same_rendering_with_links(
        answer, result.text, {link.url for link in result.links}, LABELS, len(linked)
    ), result.text
    assert_accounted(INLINE, answer, result)


def test_underscore_and_star_emphasis_link_alike() -> None:
    for under, star in (("_", "*"), ("__", "**"), ("___", "***")):
        linked = INLINE.link(f"Try {under}Anker 737{under} now.")
        starred = INLINE.link(f"Try {star}Anker 737{star} now.")
        assert linked.text == starred.text.replace(star, under)


@pytest.mark.parametrize("answer", NOT_EMPHASIS)
def test_intraword_underscores_are_no_mention(answer: str) -> None:
    result = INLINE.link(answer)
    assert not result.links and not result.skipped
    assert result.text == answer
    assert_accounted(INLINE, answer, result)


_BEFORE = ["", " ", "a", "7", "é", "和", "，", "：", "「", "(", ".", '"', "'", "-", "￥", "™",
           "\u3000", "\xa0"]  # fmt: skip
_AFTER = ["", " ", "a", "7", "é", "和", "，", "。", "」", ")", ".", "!", "?", '"', "-", "￥", "™",
          "\u3000", "\xa0"]  # fmt: skip


def test_found_exactly_where_markdown_it_makes_emphasis() -> None:
    """Around ``_``-runs of 1-3 between all kinds of neighbours, against markdown-it-py.

    The name is a mention exactly when markdown-it-py renders it emphasised.
    A mention is linked, rendering the same; or, only when the two runs
    differ in length (``_Anker 737__，``: the rule of three re-pairs them
    once a link sits inside), skipped as ``markup``, and then the link
    really would have changed the rendering.
    """
    index = INLINE._snapshot.index
    skipped = 0
    for before, after, opening, closing in itertools.product(_BEFORE, _AFTER, (1, 2, 3), (1, 2, 3)):
        answer = f"Buy{before}{'_' * opening}Anker 737{'_' * closing}{after} today"
        html = render(answer)
        emphasised = "<em>" in html or "<strong>" in html
        hits = index.find(answer)
        assert bool(hits) == emphasised, (answer, html)
        result = INLINE.link(answer)
        assert_accounted(INLINE, answer, result)
        if not emphasised:
            continue
        if result.links:
            assert same_rendering_with_links(
                answer, result.text, {result.links[0].url}, LABELS, 1
            ), (answer, result.text)
            continue
        assert opening != closing, answer
        assert [s.reason for s in result.skipped] == [SkipReason.MARKUP], answer
        hit = hits[0]
        naive = insert(answer, [(hit.start, hit.end, "[", "](https://x.test/) (Sponsored)")])
        assert not same_rendering_with_links(answer, naive, {"https://x.test/"}, LABELS, 1)
        skipped += 1
    assert skipped < len(_BEFORE) * len(_AFTER) * 3


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_every_style_and_format(style: str, fmt: str) -> None:
    answer = "推荐：_Anker 737_。另外还可以看看 __Kindle Paperwhite__ 和 a_Anker 737_b。\n"
    if fmt == "html":
        answer = f"<p>{answer.strip()}</p>\n"  # the underscores are literal text in HTML
    linker = FORMS[style, fmt]
    result = linker.link(answer)
    assert [link.mention for link in result.links] == ["Anker 737", "Kindle Paperwhite"]
    assert result.strip() == answer
    assert_accounted(linker, answer, result)


# ---------------------------------------------------------------------------
# streams equal link() for these


@pytest.mark.parametrize(
    "answer",
    [answer for answer, _ in EXAMPLES[:6]]
    + ["推荐：_Anker 737_。", "a_Anker 737_b", "推荐_Anker 737_吧\n\n_Kindle Paperwhite_\n"],
)
def test_streams_equal_link(answer: str) -> None:
    check_stream_like_link(INLINE, answer)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_streams_equal_link_every_form(style: str, fmt: str) -> None:
    answer = "推荐：_Anker 737_。a_Anker 737_b\n\n__Kindle Paperwhite__ 也行\n"
    if fmt == "html":
        answer = "<p>推荐：_Anker 737_。a_Anker 737_b</p>\n<p>__Kindle Paperwhite__ 也行</p>\n"
    check_stream_like_link(FORMS[style, fmt], answer)


@pytest.mark.parametrize(
    "run", [1, 2, 3, UNDERSCORE_RUN_MAX - 1, UNDERSCORE_RUN_MAX, UNDERSCORE_RUN_MAX + 1]
)
@pytest.mark.parametrize("after", ["b and more", " and more", "。还有", ""])
def test_a_stream_waits_for_what_follows_an_underscore_run(run: int, after: str) -> None:
    # ``Anker 737___`` at the end of what has arrived is a mention (the end
    # reads as a space); a letter after the run makes the run intraword.
    answer = "Try _Anker 737" + "_" * run + after
    found = INLINE._snapshot.index.find(answer)
    assert bool(found) == (run <= UNDERSCORE_RUN_MAX and not after.startswith("b"))
    if run == 1 and found:
        assert INLINE.link(answer).links
    check_stream_like_link(INLINE, answer)


# ---------------------------------------------------------------------------
# every mention ends as a link or a skip


WORDS_CATALOG = catalog_from_rows([product_row(f"p{i}", [w]) for i, w in enumerate(WORDS)])
WORDS_FORMS = {
    (style, fmt, cap): shoplink.Linker(WORDS_CATALOG, style=style, format=fmt, max_links=cap)
    for style in STYLES
    for fmt in ("markdown", "html")
    for cap in (None, 2)
}

_HTML_PARTS = [
    "<p>", "</p>", "<ul>", "<li>", "</li>", "</ul>", "<div>", "</div>", "<a href='https://x.test/'>",
    "</a>", "<code>", "</code>", "<pre>", "</pre>", "<!-- ", " -->", "&amp;", "<br>", "\n", " ",
    "<table><tr><td>", "</td>", "</tr></table>", "<script>", "</script>", "<b>", "</b>", "<h2>",
    "</h2>", "_", "__", "，", "。", "a", "<img alt='serum' src='x'>",
]  # fmt: skip


@st.composite
def html_documents(draw: st.DrawFn) -> str:
    parts = st.sampled_from(_HTML_PARTS) | st.sampled_from(WORDS)
    return "".join(draw(st.lists(parts, max_size=40)))


_ACCOUNTING = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_ACCOUNTING
@given(
    answer=documents(),
    style=st.sampled_from(STYLES),
    cap=st.sampled_from([None, 2]),
    data=st.data(),
)
def test_every_markdown_mention_is_linked_or_skipped(
    answer: str, style: str, cap: int | None, data: st.DataObject
) -> None:
    linker = WORDS_FORMS[style, "markdown", cap]
    whole = linker.link(answer)
    assert_accounted(linker, answer, whole)
    points = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(answer) - 1)), max_size=20))))
    chunks = [answer[a:b] for a, b in itertools.pairwise([0, *points, len(answer)])]
    text, last = streamed(linker, [c for c in chunks if c])
    assert text == whole.text
    assert_accounted(linker, answer, last)


@_ACCOUNTING
@given(
    answer=html_documents(),
    style=st.sampled_from(STYLES),
    cap=st.sampled_from([None, 2]),
    data=st.data(),
)
def test_every_html_mention_is_linked_or_skipped(
    answer: str, style: str, cap: int | None, data: st.DataObject
) -> None:
    linker = WORDS_FORMS[style, "html", cap]
    whole = linker.link(answer)
    assert_accounted(linker, answer, whole)
    points = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(answer) - 1)), max_size=20))))
    chunks = [answer[a:b] for a, b in itertools.pairwise([0, *points, len(answer)])]
    text, last = streamed(linker, [c for c in chunks if c])
    assert text == whole.text
    assert_accounted(linker, answer, last)


def test_every_demo_mention_is_linked_or_skipped() -> None:
    demo = shoplink.demo_catalog()
    for style in STYLES:
        for fmt in ("markdown", "html"):
            linker = shoplink.Linker(demo, style=style, format=fmt)
            for answer in shoplink.demo_answers():
                text = answer.answer if fmt == "markdown" else render(answer.answer)
                assert_accounted(linker, text, linker.link(text, answer.query))
