"""Where a link may go in a Markdown answer.

The linker wraps a product mention in ``prefix`` ... ``suffix`` (an inline
link ``[`` ... ``](url)label``).  This module decides whether and where that
insertion may happen so that the answer renders exactly as before, with only
the new link added.

Two stages:

* ``MarkdownLayout.analyze`` scans the blocks line by line (explicit state in
  ``_BlockScanner``, so it could later be fed incrementally) and collects the
  leaf blocks and link reference definitions.
* ``MarkdownLayout.place`` analyses the inline content of the one block that
  holds a mention (cached per block): code spans, raw HTML, autolinks, links,
  images, entities, escapes, bare URLs, and emphasis.  Emphasis is checked by
  running the CommonMark delimiter algorithm (as markdown-it implements it)
  on the block's inline text before and after the insertion and comparing
  which delimiter characters pair with which.

The rules follow CommonMark 0.31 + GFM tables/strikethrough/autolinks as
markdown-it-py 4 implements them (its linkify is more eager than GFM: bare
``example.com`` counts as a URL here too).  Where the scanner is not sure,
it refuses: skipping a link is always allowed, changing the rendering never.
"""

from __future__ import annotations

import bisect
import enum
import functools
import itertools
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import attrs

from ._text import MD_ASCII_PUNCT, MD_WHITESPACE, delimiter_run, is_md_punct

__all__ = ["Block", "MarkdownLayout", "Placement", "Refusal"]


class Refusal(enum.Enum):
    """Why a span of the answer cannot take a link."""

    IN_CODE = "in_code"
    IN_LINK = "in_link"
    IN_URL = "in_url"
    IN_HTML = "in_html"
    IN_HEADING = "in_heading"
    MARKUP = "markup"
    NOT_TEXT = "not_text"


@attrs.frozen
class Placement:
    """Where to insert a link: ``prefix`` at ``start``, ``suffix`` at ``end``.

    ``start <= mention start`` and ``end >= mention end``; the span is wider
    than the mention only when the link must wrap a whole emphasis
    (``[**理肤泉**](u)``).
    """

    start: int
    end: int


@attrs.frozen
class Block:
    """A leaf block of the answer.

    Attributes:
        start: offset of the start of the block's first line.
        end: offset after its last line's newline (or ``len(text)``).
        kind: ``"paragraph"``, ``"heading"``, ``"code"``, ``"html"``,
            ``"table"``, ``"thematic_break"``, ``"definition"`` or ``"blank"``.
    """

    start: int
    end: int
    kind: str


# --------------------------------------------------------------------------
# character classes (as markdown-it-py 4 defines them)

_ASCII_PUNCT = MD_ASCII_PUNCT
_MD_WHITESPACE = MD_WHITESPACE
_TRIM_CHARS = "".join(sorted(_MD_WHITESPACE | {"\u2028", "\u2029"}))
_is_punct = is_md_punct


def _is_punct_p(ch: str) -> bool:
    return ch in ">|" or unicodedata.category(ch).startswith(("P", "C"))


# --------------------------------------------------------------------------
# block-level regexes

# markdown-it's maxNesting is 20; stay clear of it
_MAX_BLOCK_LEVEL = 16
_MAX_INLINE_DEPTH = 16

_ATX = re.compile(r"#{1,6}(?=[ \t]|$)")
_FENCE = re.compile(r"(`{3,})[^`]*$|(~{3,}).*$")
_THEMATIC = re.compile(r"(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_SETEXT = re.compile(r"(?:=+|-+)[ \t]*$")
_LIST_MARKER = re.compile(r"([*+-])|(\d{1,9})([.)])")
_TABLE_DELIM = re.compile(r"[|:-][|:\- \t]*$")
_TABLE_DELIM_CELL = re.compile(r":?-+:?$")
# what a line (outside containers, not indented) must start with to be more
# than a paragraph's text: a container or another block, or indentation;
# digits (list items) are checked apart
_LINE_STARTERS = frozenset(" \t>*+-#`~<=_|:")
# a fence's closing line, by its opening fence
_FENCE_CLOSE: dict[str, re.Pattern[str]] = {}

_BLOCK_NAMES = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|"
    "details|dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|"
    "h1|h2|h3|h4|h5|h6|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|"
    "noframes|ol|optgroup|option|p|param|search|section|summary|table|tbody|td|tfoot|th|"
    "thead|title|tr|track|ul"
)
_ATTR_NAME = r"[a-zA-Z_:][a-zA-Z0-9:._-]*"
_ATTR_VALUE = r"(?:[^\"'=<>`\x00-\x20]+|'[^']*'|\"[^\"]*\")"
_ATTRIBUTE = r"(?:\s+" + _ATTR_NAME + r"(?:\s*=\s*" + _ATTR_VALUE + r")?)"
_OPEN_TAG = r"<[A-Za-z][A-Za-z0-9\-]*" + _ATTRIBUTE + r"*\s*/?>"
_CLOSE_TAG = r"</[A-Za-z][A-Za-z0-9\-]*\s*>"
_HTML_INLINE = re.compile(
    "(?:"
    + "|".join(
        (
            _OPEN_TAG,
            _CLOSE_TAG,
            r"<!---?>|<!--(?:[^-]|-[^-]|--[^>])*-->",
            r"<[?][\s\S]*?[?]>",
            r"<![A-Za-z][^>]*>",
            r"<!\[CDATA\[[\s\S]*?\]\]>",
        )
    )
    + ")"
)
# (start, end, may interrupt a paragraph); end None: ends at a blank line
_HTML_BLOCKS: tuple[tuple[re.Pattern[str], re.Pattern[str] | None, bool], ...] = (
    (
        re.compile(r"<(?:script|pre|style|textarea)(?=\s|>|$)", re.IGNORECASE),
        re.compile(r"</(?:script|pre|style|textarea)>", re.IGNORECASE),
        True,
    ),
    (re.compile(r"<!--"), re.compile(r"-->"), True),
    (re.compile(r"<\?"), re.compile(r"\?>"), True),
    (re.compile(r"<![A-Za-z]"), re.compile(r">"), True),
    (re.compile(r"<!\[CDATA\["), re.compile(r"\]\]>"), True),
    (re.compile(r"</?(?:" + _BLOCK_NAMES + r")(?=\s|/?>|$)", re.IGNORECASE), None, True),
    (re.compile("(?:" + _OPEN_TAG + "|" + _CLOSE_TAG + r")\s*$"), None, False),
)

# link reference definition: label, destination, optional title, each to line end
_REF_DEF = re.compile(
    r"\[((?:[^\\\[\]]|\\.){0,999})\]:[ \t]*\n?[ \t]*"
    r"(<(?:[^<>\n\\]|\\.)*>|[^\s<\x00-\x1f]\S*)"
    r"(?:([ \t]*\n?[ \t]*)(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?"
    r"[ \t]*(?:\n|$)",
    re.DOTALL,
)
_LOOKS_LIKE_DEF = re.compile(r"\[(?:[^\\\[\]]|\\.)*\]:")
_REF_DEF_NO_TITLE = re.compile(
    r"\[((?:[^\\\[\]]|\\.){0,999})\]:[ \t]*\n?[ \t]*"
    r"(<(?:[^<>\n\\]|\\.)*>|[^\s<\x00-\x1f]\S*)[ \t]*(?:\n|$)"
)


# a label a link reference definition can have: no unescaped brackets.
# CommonMark also caps labels at 999 characters, but markdown-it does not
# (it defines and links a 1,000-character label), so no cap here: refusing
# is always safe.
_DEFINABLE_LABEL = re.compile(r"(?:[^\\\[\]]|\\.)+", re.DOTALL)


def normalize_label(label: str) -> str:
    """Normalize a link label as CommonMark matches them (trim, collapse, case-fold)."""
    return " ".join(label.strip(_TRIM_CHARS).split()).lower().upper()


# --------------------------------------------------------------------------
# block scanner


@attrs.define
class _Container:
    kind: str  # "quote" | "item"
    width: int = 0  # item: columns its content is indented by
    blank_start: bool = False
    has_content: bool = False


@attrs.define
class _Line:
    start: int  # start of the whole line
    content: int  # first character of the content (after containers/indent)
    end: int  # end of content (before the newline)
    next: int  # start of the next line
    indent: int = 0
    lazy: bool = False


@attrs.define
class _Leaf:
    kind: str
    lines: list[_Line] = attrs.Factory(list)
    fence: str = ""
    fence_indent: int = 0
    html_end: re.Pattern[str] | None = None
    columns: int = 0
    unsure: bool = False


@attrs.frozen
class _Segment:
    """One line of a block's inline content: ``text[start:end]``."""

    start: int
    end: int


@attrs.frozen
class _LeafInfo:
    block: Block
    # inline units (paragraph: one; table: one per rendered cell); refusal if not text
    units: tuple[tuple[_Segment, ...], ...]
    refusal: Refusal | None
    unsure: bool


class _BlockScanner:
    """Line-by-line CommonMark block structure (containers + the open leaf)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.containers: list[_Container] = []
        self.leaf: _Leaf | None = None
        self.out: list[_LeafInfo] = []
        # The start and the block of each leaf in ``out`` (kept as they are
        # emitted: a resumed scan takes them over instead of making them again).
        self.starts: list[int] = []
        self.blocks: list[Block] = []
        self.refs: set[str] = set()
        self.content_upto = 0  # containers[:content_upto] all have content
        self._thematic_cache: dict[tuple[int, str], int] = {}

    # cursor helpers: (pos, col, rem) where rem columns of the tab before pos remain
    def _first_nonspace(self, pos: int, col: int, rem: int, eol: int) -> tuple[int, int, int]:
        text = self.text
        if pos >= eol or text[pos] not in " \t":
            return pos, col + rem, rem
        c = col + rem
        while pos < eol:
            ch = text[pos]
            if ch == " ":
                c += 1
            elif ch == "\t":
                c += 4 - c % 4
            else:
                break
            pos += 1
        return pos, c, c - col

    def _advance(self, pos: int, col: int, rem: int, n: int) -> tuple[int, int, int]:
        text = self.text
        while n > 0:
            if rem:
                take = min(rem, n)
                rem -= take
                col += take
                n -= take
                continue
            ch = text[pos] if pos < len(text) else ""
            if ch == " ":
                pos += 1
                col += 1
                n -= 1
            elif ch == "\t":
                w = 4 - col % 4
                pos += 1
                if w <= n:
                    col += w
                    n -= w
                else:
                    col += n
                    rem = w - n
                    n = 0
            else:
                break
        return pos, col, rem

    def feed(self, ls: int, next_ls: int) -> None:
        """Process the line ``text[ls:next_ls]`` (including its newline)."""
        text = self.text
        eol = next_ls - 1 if next_ls > ls and text[next_ls - 1] == "\n" else next_ls
        if eol > ls and text[eol - 1] == "\r":
            eol -= 1  # CRLF
        if not self.containers:
            leaf = self.leaf
            kind = "" if leaf is None else leaf.kind
            if kind in ("", "paragraph", "table"):
                # The common lines, outside any container, after no leaf or
                # a paragraph or table: what the full path below does.
                if ls == eol:  # blank: ends the leaf
                    self._close_leaf()
                    self._emit(_LeafInfo(Block(ls, next_ls, "blank"), (), Refusal.NOT_TEXT, False))
                    return
                ch = text[ls]
                if ch not in _LINE_STARTERS and not ch.isdigit():
                    # starts no container and no other block: text
                    if leaf is None:
                        self.leaf = _Leaf("paragraph", [_Line(ls, ls, eol, next_ls)])
                    else:
                        leaf.lines.append(_Line(ls, ls, eol, next_ls))
                    return
        line = _Line(ls, ls, eol, next_ls)
        pos, col, rem = ls, 0, 0
        matched = 0
        for c in self.containers:
            nsp, ncol, ind = self._first_nonspace(pos, col, rem, eol)
            if c.kind == "quote":
                if ind <= 3 and nsp < eol and text[nsp] == ">":
                    pos, col, rem = nsp + 1, ncol + 1, 0
                    if pos < eol and text[pos] in " \t":
                        pos, col, rem = self._advance(pos, col, rem, 1)
                else:
                    break
            elif nsp >= eol:
                if c.blank_start and not c.has_content:
                    break
                pos, col, rem = nsp, ncol, 0
            elif ind >= c.width:
                pos, col, rem = self._advance(pos, col, rem, c.width)
            else:
                break
            matched += 1
        all_matched = matched == len(self.containers)
        leaf = self.leaf
        nsp, ncol, ind = self._first_nonspace(pos, col, rem, eol)
        blank = nsp >= eol

        if all_matched and leaf is not None and leaf.kind == "fence":
            line.content = pos
            leaf.lines.append(line)
            if ind <= 3 and not blank:
                close = _FENCE_CLOSE.get(leaf.fence)
                if close is None:
                    close = re.compile(
                        re.escape(leaf.fence[0]) + "{" + str(len(leaf.fence)) + r",}[ \t]*$"
                    )
                    if len(_FENCE_CLOSE) < 64:
                        _FENCE_CLOSE[leaf.fence] = close
                if close.match(text, nsp, eol):
                    self._close_leaf()
            return
        if all_matched and leaf is not None and leaf.kind == "html":
            if leaf.html_end is None and blank:
                self._close_leaf()
            else:
                leaf.lines.append(line)
                if leaf.html_end is not None and leaf.html_end.search(text, pos, eol):
                    self._close_leaf()
                return

        # new container starts
        started = False
        para_open = leaf is not None and leaf.kind == "paragraph"
        while True:
            nsp, ncol, ind = self._first_nonspace(pos, col, rem, eol)
            if ind >= 4 or nsp >= eol:
                break
            ch = text[nsp]
            if ch == ">":
                self._close_to(matched)
                self._close_leaf()
                self.containers.append(_Container("quote"))
                matched = len(self.containers)
                started = True
                pos, col, rem = nsp + 1, ncol + 1, 0
                if pos < eol and text[pos] in " \t":
                    pos, col, rem = self._advance(pos, col, rem, 1)
                continue
            m = _LIST_MARKER.match(text, nsp, eol)
            if m is None or (m.end() < eol and text[m.end()] not in " \t"):
                break
            if self._thematic(nsp, eol):
                break
            a_pos, a_col, a_rem = m.end(), ncol + (m.end() - nsp), 0
            c_pos, c_col, spaces = self._first_nonspace(a_pos, a_col, a_rem, eol)
            empty = c_pos >= eol
            interrupting = para_open and all_matched and not started
            if (
                interrupting
                and (empty or (m.group(2) is not None and int(m.group(2)) != 1))
                # markdown-it reads definitions with their own block rule,
                # which any list item ends, empty or not.
                and not (self.leaf is not None and self._only_definitions(self.leaf))
            ):
                break
            marker_w = m.end() - nsp
            if empty or spaces >= 5:
                width = marker_w + 1
                pos, col, rem = self._advance(a_pos, a_col, a_rem, 1)
            else:
                width = marker_w + spaces
                pos, col, rem = c_pos, c_col, 0
            self._close_to(matched)
            self._close_leaf()
            self._mark_content()
            self.containers.append(_Container("item", width, blank_start=empty))
            matched = len(self.containers)
            started = True
        nsp, ncol, ind = self._first_nonspace(pos, col, rem, eol)
        blank = nsp >= eol
        line.content, line.indent = nsp, ind

        if not started and not all_matched:
            if (
                leaf is not None
                and leaf.kind == "paragraph"
                and not blank
                and (ind >= 4 or not self._starts_leaf(nsp, eol, in_para=True))
                and not self._only_definitions(leaf)
            ):
                line.lazy = True
                leaf.lines.append(line)
                return
            self._close_to(matched)
        leaf = self.leaf
        if blank:
            if leaf is not None and leaf.kind == "indented":
                line.content = min(pos, eol)
                leaf.lines.append(line)
                return
            self._close_leaf()
            self._emit(_LeafInfo(Block(ls, next_ls, "blank"), (), Refusal.NOT_TEXT, False))
            return
        self._mark_content()
        if ind >= 4:
            if leaf is not None and leaf.kind == "paragraph":
                leaf.lines.append(line)
                return
            if leaf is None or leaf.kind != "indented":
                self._close_leaf()
                self.leaf = _Leaf("indented")
            assert self.leaf is not None
            self.leaf.lines.append(line)
            return
        ch = text[nsp]
        if ch in "`~":
            fm = _FENCE.match(text, nsp, eol)
            if fm:
                self._close_leaf()
                self.leaf = _Leaf(
                    "fence", [line], fence=fm.group(1) or fm.group(2), fence_indent=ind
                )
                return
        if ch == "#" and _ATX.match(text, nsp, eol):
            self._close_leaf()
            self._emit(_LeafInfo(Block(ls, next_ls, "heading"), (), Refusal.IN_HEADING, False))
            return
        if ch == "<":
            for start_re, end_re, interrupts in _HTML_BLOCKS:
                if not start_re.match(text, nsp, eol):
                    continue
                if not interrupts and leaf is not None and leaf.kind in ("paragraph", "table"):
                    break
                self._close_leaf()
                self.leaf = _Leaf("html", [line], html_end=end_re)
                if end_re is not None and end_re.search(text, nsp, eol):
                    self._close_leaf()
                return
        if leaf is not None and leaf.kind == "paragraph" and _SETEXT.match(text, nsp, eol):
            para = self._take_definitions(leaf)
            if para.lines:
                para.lines.append(line)
                self.leaf = None
                first = para.lines[0]
                self._emit(
                    _LeafInfo(
                        Block(first.start, next_ls, "heading"), (), Refusal.IN_HEADING, para.unsure
                    )
                )
                return
            self.leaf = None
            leaf = None
        if ch in "*-_" and self._thematic(nsp, eol):
            self._close_leaf()
            self._emit(_LeafInfo(Block(ls, next_ls, "thematic_break"), (), Refusal.NOT_TEXT, False))
            return
        if leaf is not None and leaf.kind == "paragraph" and ch in "|:-":
            columns = self._delimiter_columns(nsp, eol)
            header = leaf.lines[-1]
            if columns and header.indent < 4 and self._header_columns(header) == columns:
                leaf.lines.pop()
                self._close_leaf()
                self.leaf = _Leaf("table", [header, line], columns=columns, unsure=header.lazy)
                return
        if leaf is not None and leaf.kind == "table":
            leaf.lines.append(line)
            return
        if leaf is not None and leaf.kind == "paragraph":
            leaf.lines.append(line)
            return
        self._close_leaf()
        self.leaf = _Leaf("paragraph", [line])

    def _only_definitions(self, leaf: _Leaf) -> bool:
        """Whether the open paragraph is all link reference definitions so far.

        markdown-it parses those with its own block rule, which takes no lazy
        continuation lines.
        """
        text = self.text
        lines = leaf.lines
        if text[lines[0].content] != "[":
            return False
        if len(lines) > 50:
            leaf.unsure = True  # not worth the quadratic re-check
            return False
        src = "\n".join(text[ln.content : ln.end] for ln in lines)
        pos = 0
        while pos < len(src):
            m = _REF_DEF.match(src, pos) or _REF_DEF_NO_TITLE.match(src, pos)
            if m is None or not m.group(1).strip(_TRIM_CHARS):
                return False
            pos = m.end()
        return True

    def _starts_leaf(self, nsp: int, eol: int, in_para: bool) -> bool:
        """Whether a line (indent < 4) would start a block that interrupts a paragraph."""
        text = self.text
        ch = text[nsp]
        if ch in "`~" and _FENCE.match(text, nsp, eol):
            return True
        if ch == "#" and _ATX.match(text, nsp, eol):
            return True
        if ch in "*-_" and self._thematic(nsp, eol):
            return True
        if ch == "<":
            return any(s.match(text, nsp, eol) and i for s, _e, i in _HTML_BLOCKS)
        return False

    def _delimiter_columns(self, nsp: int, eol: int) -> int:
        text = self.text
        s = text[nsp:eol]
        if len(s) < 2 or not _TABLE_DELIM.match(s):
            return 0
        if s[1] not in "|-: \t" or (s[0] == "-" and s[1] in " \t"):
            return 0
        cols = s.split("|")
        n = 0
        for i, c in enumerate(cols):
            t = c.strip(_TRIM_CHARS)
            if not t:
                if i in (0, len(cols) - 1):
                    continue
                return 0
            if not _TABLE_DELIM_CELL.match(t):
                return 0
            n += 1
        return n

    def _cells(self, line: _Line) -> list[tuple[int, int, bool]]:
        """Cells of a table row: (start, end, had an escaped pipe)."""
        text = self.text
        start, end = line.content, line.end
        while start < end and text[start] in _TRIM_CHARS:
            start += 1
        while end > start and text[end - 1] in _TRIM_CHARS:
            end -= 1
        cells: list[tuple[int, int, bool]] = []
        last = start
        escaped_pipe = False
        prev_bs = False
        for i in range(start, end):
            ch = text[i]
            if ch == "|":
                if prev_bs:
                    escaped_pipe = True
                else:
                    cells.append((last, i, escaped_pipe))
                    last, escaped_pipe = i + 1, False
            prev_bs = ch == "\\"
        cells.append((last, end, escaped_pipe))
        if cells and cells[0][0] == cells[0][1]:
            cells.pop(0)
        if cells and cells[-1][0] == cells[-1][1]:
            cells.pop()
        trimmed = []
        for s, e, esc in cells:
            while s < e and text[s] in _TRIM_CHARS:
                s += 1
            while e > s and text[e - 1] in _TRIM_CHARS:
                e -= 1
            trimmed.append((s, e, esc))
        return trimmed

    def _header_columns(self, line: _Line) -> int:
        if "|" not in self.text[line.content : line.end]:
            return 0
        return len(self._cells(line))

    def _thematic(self, nsp: int, eol: int) -> bool:
        """``_THEMATIC.match(text, nsp, eol)``, in time independent of nesting."""
        ch = self.text[nsp]
        if ch not in "*-_":
            return False
        # the rest of the line must be only the marker, spaces and tabs
        key = (eol, ch)
        last = self._thematic_cache.get(key)
        if last is None:
            text = self.text
            last = eol - 1
            while last >= 0 and text[last] in (ch, " ", "\t"):
                last -= 1
            self._thematic_cache = {key: last}
        if last >= nsp:
            return False
        return _THEMATIC.match(self.text, nsp, eol) is not None

    def _mark_content(self) -> None:
        """Mark every open container as having content (each only once)."""
        for c in self.containers[self.content_upto :]:
            c.has_content = True
        self.content_upto = len(self.containers)

    def _close_to(self, depth: int) -> None:
        if depth < len(self.containers):
            self._close_leaf()
            del self.containers[depth:]
            self.content_upto = min(self.content_upto, depth)

    def _emit(self, info: _LeafInfo) -> None:
        self.out.append(info)
        self.starts.append(info.block.start)
        self.blocks.append(info.block)

    def _take_definitions(self, leaf: _Leaf) -> _Leaf:
        """Split leading link reference definitions off a paragraph (emitting them).

        The paragraph's lines are joined once and each definition matched
        where the last one ended (joining the lines left for each one cost
        time quadratic in a long run of definitions).
        """
        text = self.text
        lines = leaf.lines
        if not lines or text[lines[0].content] != "[":
            return leaf
        parts = [text[ln.content : ln.end] for ln in lines]
        src = "\n".join(parts)
        # where each line starts in ``src``
        offsets = list(itertools.accumulate((len(p) + 1 for p in parts), initial=0))
        k = 0
        while k < len(lines):
            if text[lines[k].content] != "[":
                break
            pos = offsets[k]
            m = _REF_DEF.match(src, pos) or _REF_DEF_NO_TITLE.match(src, pos)
            if m is None or not m.group(1).strip(_TRIM_CHARS):
                if _LOOKS_LIKE_DEF.match(src, pos):
                    leaf.unsure = True  # looks like a definition we could not parse
                break
            nlines = src.count("\n", pos, m.end()) + (1 if not m.group(0).endswith("\n") else 0)
            consumed = lines[k : k + max(1, nlines)]
            k += len(consumed)
            self.refs.add(normalize_label(m.group(1)))
            self._emit(
                _LeafInfo(
                    Block(consumed[0].start, consumed[-1].next, "definition"),
                    (),
                    Refusal.IN_LINK,
                    False,
                )
            )
        leaf.lines = lines[k:]
        return leaf

    def _close_leaf(self) -> None:
        leaf, self.leaf = self.leaf, None
        if leaf is None or not leaf.lines:
            return
        # markdown-it drops blocks nested maxNesting (20) levels deep: a quote
        # is one level, a list item two
        if 2 * len(self.containers) >= _MAX_BLOCK_LEVEL:  # each one is 1 or 2 levels
            level = sum(1 if c.kind == "quote" else 2 for c in self.containers)
            if level >= _MAX_BLOCK_LEVEL:
                leaf.unsure = True
        kind = leaf.kind
        if kind == "paragraph":
            leaf = self._take_definitions(leaf)
            if not leaf.lines:
                return
            seg = tuple(_Segment(ln.content, ln.end) for ln in leaf.lines)
            block = Block(leaf.lines[0].start, leaf.lines[-1].next, "paragraph")
            self._emit(_LeafInfo(block, (seg,), None, leaf.unsure))
        elif kind == "indented":
            lines = leaf.lines
            last = (
                max(i for i, ln in enumerate(lines) if ln.content < ln.end)
                if any(ln.content < ln.end for ln in lines)
                else -1
            )
            if last >= 0:
                block = Block(lines[0].start, lines[last].next, "code")
                self._emit(_LeafInfo(block, (), Refusal.IN_CODE, False))
            for ln in lines[last + 1 :]:
                self._emit(
                    _LeafInfo(Block(ln.start, ln.next, "blank"), (), Refusal.NOT_TEXT, False)
                )
        elif kind == "fence":
            block = Block(leaf.lines[0].start, leaf.lines[-1].next, "code")
            self._emit(_LeafInfo(block, (), Refusal.IN_CODE, False))
        elif kind == "html":
            block = Block(leaf.lines[0].start, leaf.lines[-1].next, "html")
            self._emit(_LeafInfo(block, (), Refusal.IN_HTML, False))
        elif kind == "table":
            units: list[tuple[_Segment, ...]] = []
            for i, ln in enumerate(leaf.lines):
                if i == 1:
                    continue
                for j, (s, e, esc) in enumerate(self._cells(ln)):
                    # escaped pipes change the cell text; extra cells are dropped
                    if not esc and j < leaf.columns:
                        units.append((_Segment(s, e),))
            block = Block(leaf.lines[0].start, leaf.lines[-1].next, "table")
            self._emit(_LeafInfo(block, tuple(units), None, leaf.unsure))

    def finish(self) -> None:
        self._close_to(0)
        self._close_leaf()

    def copy(self) -> _BlockScanner:
        """A scanner in the same state that can be finished or fed apart from this one."""
        other = _BlockScanner.__new__(_BlockScanner)
        other.__dict__.update(self.__dict__)
        other.containers = [attrs.evolve(c) for c in self.containers]
        other.leaf = _copy_leaf(self.leaf)
        other.out = list(self.out)
        other.starts = list(self.starts)
        other.blocks = list(self.blocks)
        other.refs = set(self.refs)
        return other


# --------------------------------------------------------------------------
# inline analysis

_SPECIAL = re.compile(r"[\\`*_~\[\]!<&:\n]")
_AUTOLINK = re.compile(
    r"<(?:[a-zA-Z][a-zA-Z0-9+.\-]{1,31}:[^<>\x00-\x20]*|"
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*)>"
)
_ENTITY = re.compile(r"&(?:#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_SCHEME_BEFORE = re.compile(r"(?:^|[^a-zA-Z0-9.+-])([a-zA-Z][a-zA-Z0-9.+-]*)$")
# Conservative approximations of what linkify-it turns into links.
# The e-mail and domain alternatives only start where their first character
# class starts (a match starting later in such a run implies one starting at
# its beginning), which keeps the scan linear on long words.
#
# A scheme glued to the word before it (``CeraVehttps://``) is no link, but
# becomes one once a link's suffix ends that word with punctuation: so the
# scheme-like run before ``//`` counts as part of the address.  A domain's
# labels are linkify's "pseudo letters": anything but whitespace, control
# characters, punctuation and ``<>｜`` (so ``~``, ``+``, ``=`` and Han
# characters too: ``理肤泉~~www.a.com`` is one address).
_NOT_PSEUDO = frozenset({"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Zs", "Zl", "Zp", "Cc"})


@functools.cache
def _urlish() -> re.Pattern[str]:
    excluded = "".join(
        re.escape(ch)
        for ch in map(chr, range(0x10000))
        if ch not in "_-" and unicodedata.category(ch) in _NOT_PSEUDO
    )
    label = f"[^{excluded}<>\uff5c]"
    return re.compile(
        r"(?:[a-zA-Z0-9+.-]*:)?//[^\s<>]*"
        r"|mailto:[^\s<>]*"
        r"|(?<![\w.+-])[\w.+-]*@[\w-]+(?:\.[\w-]+)+"
        rf"|(?<!{label}){label}+(?:\.{label}+)*\.[a-zA-Z\w]{{2,}}(?::\d+)?(?:[/?#][^\s<>]*)?"
    )


# after a match, what linkify might still take as the same address
_URL_REST = re.compile(r"[\w.+@:/?#-]*")
_URL_TAIL = re.compile(r"[^\s<>]*")
# every _urlish() match holds one of these, within one run of _URL_RUN
_URL_ANCHOR = re.compile(r"[./@:]")
_URL_RUN = re.compile(r"[^\s<>]*")
_BACKTICK_RUN = re.compile(r"`+")
_LONE_CR = re.compile(r"\r(?!\n)")


def _normalise_lines(text: str) -> str:
    """Offset-preserving: lone CR -> LF, NUL -> U+FFFD (as CommonMark reads them)."""
    scan = _LONE_CR.sub("\n", text) if "\r" in text else text
    return scan.replace("\x00", "\ufffd")
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9\-]*)")
# HTML elements that never have content or an end tag (the HTML standard's
# list, plus the obsolete keygen), shared with the HTML layout.
VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen"}
    | {"link", "meta", "param", "source", "track", "wbr"}
)
_URL_TLDISH = re.compile(r"\.[^\W\d_]{2,}")

# linkify-it's pretest (markdown-it skips linkify for a block that fails it):
# ``@``, ``localhost``, ``www.``, ``.1.``, a schema after a separator, or a
# known top-level domain followed by a separator, ``>`` or the end.
_PRETEST_ANYWHERE = re.compile(r"@|localhost|www\.|\.\d{1,3}\.", re.IGNORECASE)
_PRETEST_SCHEMA = re.compile(r"(?=https?:|ftp:|mailto:|//)", re.IGNORECASE)  # every start
# linkify-it's default list, and its two-letter country codes by first letter.
_PRETEST_CC = {
    "a": "cdefgilmnoqrstuwxz", "b": "abdefghijmnorstvwyz", "c": "acdfghiklmnoruvwxyz",
    "d": "ejkmoz", "e": "cegrstu", "f": "ijkmor", "g": "abdefghilmnpqrstuwy", "h": "kmnrtu",
    "i": "delmnoqrst", "j": "emop", "k": "eghimnprwyz", "l": "abcikrstuvy",
    "m": "acdeghklmnopqrstuvwxyz", "n": "acefgilopruz", "o": "m", "p": "aefghklmnrstwy",
    "q": "a", "r": "eosuw", "s": "abcdeghijklmnortuvxyz", "t": "cdfghjklmnortvwz",
    "u": "agksyz", "v": "aceginu", "w": "fs", "y": "et", "z": "amw",
}  # fmt: skip
_PRETEST_DEFAULT_TLDS = (
    "biz", "com", "edu", "gov", "net", "org", "pro", "web", "xxx",
    "aero", "asia", "coop", "info", "museum", "name", "shop", "рф",
)  # fmt: skip
_PRETEST_TLDS = frozenset(_PRETEST_DEFAULT_TLDS) | {
    head + tail for head, tails in _PRETEST_CC.items() for tail in tails
}
# A dot and the label after it, up to the next character that is no
# letter or digit of any script (or ``-``, which ``xn--`` labels hold).
_DOT_LABEL = re.compile(r"\.((?:[^\W_]|-)+)")
_PRETEST_XN = re.compile(r"xn--[a-z0-9\-]{1,59}", re.IGNORECASE)


def _separator(ch: str) -> bool:
    """linkify-it's ``Z|P|Cc``: a space, punctuation or a control character."""
    return unicodedata.category(ch) in _NOT_PSEUDO


def _linkifiable(tok: str) -> bool:
    """Whether linkify may link part of ``tok`` once its pretest passes.

    A superset of what it links: a schema's ``//``, an ``@``, ``www.`` or
    ``localhost``, or a label after a dot that is a known top-level domain
    (``xn--`` ones too); ``taxes.txt`` is none of these.
    """
    low = tok.lower()
    if "//" in tok or "@" in tok or "www." in low or "localhost" in low:
        return True
    for m in _DOT_LABEL.finditer(low):
        label = m.group(1)
        if label in _PRETEST_TLDS or label.startswith("xn--"):
            return True
    return False


def _linkify_pretest(src: str) -> bool:
    """Whether linkify-it's pretest passes on ``src`` (a block's inline text)."""
    if _PRETEST_ANYWHERE.search(src):
        return True
    for m in _PRETEST_SCHEMA.finditer(src):
        a = m.start()
        if a == 0 or src[a - 1] in "><\uff5c" or (src[a - 1] != "_" and _separator(src[a - 1])):
            return True
    n = len(src)

    def ends_here(end: int) -> bool:
        return end == n or src[end] == ">" or _separator(src[end])

    dot = src.find(".")
    while dot >= 0:
        for size in (2, 3, 4, 6):
            tld = src[dot + 1 : dot + 1 + size]
            if len(tld) == size and tld.lower() in _PRETEST_TLDS and ends_here(dot + 1 + size):
                return True
        xn = _PRETEST_XN.match(src, dot + 1)
        if xn is not None and any(ends_here(end) for end in range(dot + 6, xn.end() + 1)):
            return True
        dot = src.find(".", dot + 1)
    return False


@attrs.define
class _Delim:
    pos: int
    marker: str
    length: int
    token: int
    open: bool
    close: bool
    end: int = -1
    run: int = -1  # start of the delimiter run this delimiter belongs to
    run_len: int = 0


def _flank(marker: str, last: str, nxt: str) -> tuple[bool, bool]:
    """(can open, can close) for a delimiter run between ``last`` and ``nxt``."""
    key = (marker, last, nxt)
    found = _FLANKS.get(key)
    if found is None:
        found = _flank_uncached(marker, last, nxt)
        if len(_FLANKS) < _FLANKS_MAX:
            _FLANKS[key] = found
    return found


# _flank by its three characters (a plain dict: reads and writes are atomic
# under the GIL; past the cap, new combinations are just not kept)
_FLANKS: dict[tuple[str, str, str], tuple[bool, bool]] = {}
_FLANKS_MAX = 4096


# The flanking rule itself is shared with the matcher, which reads an ``_``
# run next to a mention with it (``_text.delimiter_run``).
_flank_uncached = delimiter_run


# (pos, marker, length, token, can open, can close, run start, run length)
_RawDelim = tuple[int, str, int, int, bool, bool, int, int]


def _process_delimiters(delims: list[_Delim]) -> None:
    """markdown-it's ``processDelimiters`` (CommonMark "process emphasis")."""
    if not delims:
        return
    openers_bottom: dict[str, list[int]] = {}
    header = 0
    last_token = -2
    jumps: list[int] = []
    closer_idx = 0
    n = len(delims)
    while closer_idx < n:
        closer = delims[closer_idx]
        jumps.append(0)
        if delims[header].marker != closer.marker or last_token != closer.token - 1:
            header = closer_idx
        last_token = closer.token
        if not closer.close:
            closer_idx += 1
            continue
        bottoms = openers_bottom.setdefault(closer.marker, [-1] * 6)
        min_opener = bottoms[(3 if closer.open else 0) + closer.length % 3]
        opener_idx = header - jumps[header] - 1
        new_min = opener_idx
        while opener_idx > min_opener:
            opener = delims[opener_idx]
            if opener.marker != closer.marker:
                opener_idx -= jumps[opener_idx] + 1
                continue
            if opener.open and opener.end < 0:
                odd = (
                    (opener.close or closer.open)
                    and (opener.length + closer.length) % 3 == 0
                    and (opener.length % 3 != 0 or closer.length % 3 != 0)
                )
                if not odd:
                    last_jump = (
                        jumps[opener_idx - 1] + 1
                        if opener_idx > 0 and not delims[opener_idx - 1].open
                        else 0
                    )
                    jumps[closer_idx] = closer_idx - opener_idx + last_jump
                    jumps[opener_idx] = last_jump
                    closer.open = False
                    opener.end = closer_idx
                    opener.close = False
                    new_min = -1
                    last_token = -2
                    break
            opener_idx -= jumps[opener_idx] + 1
        if new_min != -1:
            bottoms[(3 if closer.open else 0) + closer.length % 3] = new_min
        closer_idx += 1


# (pos, marker, length, token, can open, can close): what the pairing reads
_PairInput = tuple[int, str, int, int, bool, bool]


def _pair_ends(scope: Sequence[_PairInput]) -> tuple[int, ...]:
    """For each delimiter of ``scope``, the index of the one it pairs with as opener, or -1.

    ``_process_delimiters`` reads markers, lengths, flanking and which
    tokens are adjacent, never positions, so its result is kept by exactly
    those (tokens counted from the scope's first): the same run shapes
    (``**name**：`` opening list item after list item) pair the same way.
    """
    if not scope:
        return ()
    first = scope[0][3]
    key = tuple((m, n, token - first, op, cl) for _p, m, n, token, op, cl in scope)
    ends = _PAIRINGS.get(key)
    if ends is None:
        delims = [_Delim(p, m, n, token, op, cl) for p, m, n, token, op, cl in scope]
        _process_delimiters(delims)
        ends = tuple(d.end for d in delims)
        if len(scope) <= _PAIRINGS_MAX_DELIMS and len(_PAIRINGS) < _PAIRINGS_MAX:
            _PAIRINGS[key] = ends
    return ends


# _pair_ends by its input (a plain dict, as _FLANKS); only short scopes are kept
_PAIRINGS: dict[tuple[tuple[str, int, int, bool, bool], ...], tuple[int, ...]] = {}
_PAIRINGS_MAX = 1024
_PAIRINGS_MAX_DELIMS = 64


@attrs.define
class _InlineResult:
    # (start, end, reason): spans of src that cannot take (part of) a link
    spans: list[tuple[int, int, Refusal]]
    # (start, end): atomic spans (escapes, entities) that must not be split
    atoms: list[tuple[int, int]]
    pairs: set[tuple[int, int]]
    links: list[tuple[int, int, int]]  # (open bracket, label end, link end)
    # the top-level delimiters before pairing, and their pairs
    top_delims: tuple[_RawDelim, ...] = ()
    top_pairs: frozenset[tuple[int, int]] = frozenset()
    unsure: bool = False  # a bare URL holds delimiter chars: linkify may eat them
    # (start, end, link level): bracket pairs that would be a reference link
    # if the answer defined their label, and it does not (see _link)
    potentials: list[tuple[int, int, int]] = attrs.Factory(list)


class _TooDeep(Exception):
    """Link labels nested too deep to follow markdown-it exactly."""


class _InlineParser:
    """Enough of markdown-it's inline parser to know spans and emphasis pairs."""

    def __init__(self, src: str, refs: set[str]) -> None:
        self.src = src
        self.refs = refs
        self.token = 0
        self.res = _InlineResult([], [], set(), [])
        self.scopes: list[list[_Delim]] = []
        self._skip_cache: dict[tuple[int, int], int] = {}
        self._depth = 0  # nesting of link label scans
        self._last_close = src.rfind("]")
        self._last_runs: dict[int, int] | None = None  # backtick run length -> last start
        self._url_end = -1  # end of the last bare URL span
        self._tags: list[tuple[int, int, str, bool]] = []  # (start, end, name, closing)

    def parse(self) -> _InlineResult:
        if _SPECIAL.search(self.src) is None:
            return self.res  # plain text: no span, atom or delimiter
        return self.parse_all()

    def parse_all(self) -> _InlineResult:
        """``parse`` without the shortcut for plain text."""
        top: list[_Delim] = []
        self.scopes.append(top)
        try:
            self._tokenize(0, len(self.src), top, link_level=0)
        except _TooDeep:
            # markdown-it gives up on deep nesting in its own way; refuse the unit
            self.res.unsure = True
            return self.res
        self.res.top_delims = tuple(
            (d.pos, d.marker, d.length, d.token, d.open, d.close, d.run, d.run_len) for d in top
        )
        self._element_spans()
        for scope in self.scopes:
            if scope:
                _process_delimiters(scope)
                self.res.pairs.update((d.pos, scope[d.end].pos) for d in scope if d.end >= 0)
        if top:
            self.res.top_pairs = frozenset((d.pos, top[d.end].pos) for d in top if d.end >= 0)
        return self.res

    def _element_spans(self) -> None:
        """Refuse text between an inline HTML open tag and its close tag.

        An open tag without a matching close tag (in this unit) refuses to
        the end of the unit; so do elements left open inside one that closes.
        """
        if not self._tags:
            return
        end_all = len(self.src)
        stack: list[tuple[str, int]] = []
        open_count: dict[str, int] = {}
        spans: list[tuple[int, int]] = []
        for start, end, name, closing in self._tags:
            if not closing:
                stack.append((name, start))
                open_count[name] = open_count.get(name, 0) + 1
                continue
            if not open_count.get(name):
                continue  # a stray close tag
            while True:
                top, top_start = stack.pop()
                open_count[top] -= 1
                if top == name:
                    spans.append((top_start, end))
                    break
                spans.append((top_start, end_all))
        spans.extend((start, end_all) for _name, start in stack)
        spans.sort()
        merged: list[tuple[int, int]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                if b > merged[-1][1]:
                    merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        self.res.spans.extend((a, b, Refusal.IN_HTML) for a, b in merged)

    def _scan_delims(self, start: int, maximum: int, can_split: bool) -> tuple[bool, bool, int]:
        src = self.src
        marker = src[start]
        last = src[start - 1] if start > 0 else " "
        pos = start
        while pos < maximum and src[pos] == marker:
            pos += 1
        count = pos - start
        nxt = src[pos] if pos < maximum else " "
        can_open, can_close = _flank(marker, last, nxt)
        return can_open, can_close, count

    def _tokenize(self, pos: int, maximum: int, scope: list[_Delim], link_level: int) -> None:
        src = self.src
        res = self.res
        gap = False
        while pos < maximum:
            m = _SPECIAL.search(src, pos, maximum)
            if m is None:
                break
            if m.start() > pos:
                gap = True
            pos = m.start()
            ch = src[pos]
            if ch in "*_":
                can_open, can_close, count = self._scan_delims(pos, maximum, ch == "*")
                if gap:
                    self.token += 1
                for i in range(count):
                    self.token += 1
                    scope.append(
                        _Delim(
                            pos + i,
                            ch,
                            count,
                            self.token,
                            can_open,
                            can_close,
                            run=pos,
                            run_len=count,
                        )
                    )
                self.token += 1
                gap = False
                pos += count
                continue
            if ch == "~":
                can_open, can_close, count = self._scan_delims(pos, maximum, True)
                if count < 2:
                    pos += 1
                    gap = True
                    continue
                self.token += 2
                p = pos + count % 2
                for _ in range(count // 2):
                    self.token += 1
                    scope.append(
                        _Delim(p, "~", 0, self.token, can_open, can_close, run=pos, run_len=count)
                    )
                    p += 2
                self.token += 1
                gap = False
                pos += count
                continue
            new = self._special(pos, maximum, link_level, scope)
            if new is None:
                pos += 1
                gap = True
            else:
                self.token += 3
                pos = new
                gap = False
        del res

    def _special(self, pos: int, maximum: int, link_level: int, scope: list[_Delim]) -> int | None:
        """Handle a non-delimiter special char; return the new pos, or None (plain text)."""
        src = self.src
        res = self.res
        ch = src[pos]
        if ch == "\\":
            if pos + 1 < maximum and (src[pos + 1] in _ASCII_PUNCT or src[pos + 1] == "\n"):
                res.atoms.append((pos, pos + 2))
                return pos + 2
            return None
        if ch == "`":
            end = self._code_span(pos, maximum)
            if end < 0:
                run = pos
                while run < maximum and src[run] == "`":
                    run += 1
                res.atoms.append((pos, run))
                return run
            if link_level == 0:
                res.spans.append((pos, end, Refusal.IN_CODE))
            return end
        if ch == "[":
            link = self._link(pos, maximum, check_only=False)
            if link is None:
                return None
            if not link[2]:
                # a reference link but for its definition: plain text here,
                # yet refused as a link, since a definition may come later
                res.potentials.append((pos, link[1], link_level))
                if link_level == 0:
                    res.spans.append((pos, link[1], Refusal.IN_LINK))
                    if src.startswith("(", link[1]):
                        self._addresses_if_defined(link[0] + 1, link[1], maximum)
                return None
            label_end, end, _defined = link
            if link_level == 0:
                res.spans.append((pos, end, Refusal.IN_LINK))
            res.links.append((pos, label_end, end))
            inner: list[_Delim] = []
            self.scopes.append(inner)
            self.token += 1
            self._tokenize(pos + 1, label_end, inner, link_level + 1)
            self.token += 1
            return end
        if ch == "!":
            if pos + 1 < maximum and src[pos + 1] == "[":
                img = self._link(pos + 1, maximum, check_only=True, image=True)
                if img is not None and img[2]:
                    if link_level == 0:
                        res.spans.append((pos, img[1], Refusal.IN_LINK))
                    return img[1]
            return None
        if ch == "<":
            m = _AUTOLINK.match(src, pos, maximum)
            if m:
                if link_level == 0:
                    res.spans.append((pos, m.end(), Refusal.IN_LINK))
                return m.end()
            m = _HTML_INLINE.match(src, pos, maximum)
            if m:
                if link_level == 0:
                    res.spans.append((pos, m.end(), Refusal.IN_HTML))
                    tag = _TAG_NAME.match(src, pos, m.end())
                    if tag is not None and not src.startswith("/>", m.end() - 2):
                        name = tag.group(2).lower()
                        if tag.group(1) or name not in VOID_ELEMENTS:
                            self._tags.append((pos, m.end(), name, bool(tag.group(1))))
                return m.end()
            return None
        if ch == "&":
            m = _ENTITY.match(src, pos, maximum)
            if m:
                res.atoms.append((pos, m.end()))
                return m.end()
            return None
        if ch == ":" and link_level == 0 and src.startswith("//", pos + 1):
            self._bare_url(pos, maximum)
        return None

    def _addresses_if_defined(self, second: int, end: int, maximum: int) -> None:
        """Refuse the addresses a later definition would leave as text.

        ``[a][b](https://…)`` with ``[a][b]`` (or ``[a][]``) ending at
        ``end`` not defined: ``[b](…)`` at ``second`` is a link, and its
        address is no bare URL; once a definition makes ``[a][b]`` a
        reference link, ``(…)`` is text and the address is linkified.  Taken
        as the latter, so that nothing here depends on text after it.
        """
        inline = self._link(second, maximum, check_only=True)
        if inline is None or not inline[2]:
            return
        at = self.src.find("://", end, inline[1])
        while at >= 0:
            self._bare_url(at, maximum)
            at = self.src.find("://", at + 3, inline[1])

    def _bare_url(self, pos: int, maximum: int) -> None:
        """Refuse the address whose ``://`` is at ``pos``, if a scheme precedes it."""
        src = self.src
        lo = max(0, pos - 40)
        sm = _SCHEME_BEFORE.search(src[lo:pos])
        if sm and pos >= self._url_end:
            m = _URL_TAIL.match(src, pos, maximum)
            assert m is not None
            # the exact end is linkify-it's business; mark the span unsure
            self.res.spans.append((lo + sm.start(1), m.end(), Refusal.IN_URL))
            self._url_end = m.end()
            if any(c in "*_~" for c in src[pos : m.end()]):
                self.res.unsure = True

    def _code_span(self, pos: int, maximum: int) -> int:
        """End of the code span opened at ``pos``, or -1 (markdown-it's backtick rule)."""
        src = self.src
        run = pos
        while run < maximum and src[run] == "`":
            run += 1
        n = run - pos
        if self._last_runs is None:
            last_runs: dict[int, int] = {}
            for m in _BACKTICK_RUN.finditer(src):
                last_runs[m.end() - m.start()] = m.start()
            self._last_runs = last_runs
        # no run of this length later: no closer (keeps unclosed runs linear)
        if self._last_runs.get(n, -1) < run:
            return -1
        match_end = run
        while True:
            i = src.find("`", match_end, maximum)
            if i < 0:
                return -1
            match_end = i + 1
            while match_end < len(src) and src[match_end] == "`":
                match_end += 1
            if match_end > maximum:
                return -1
            if match_end - i == n:
                return match_end

    def _skip_token(self, pos: int, maximum: int) -> int:
        key = (pos, maximum)
        cached = self._skip_cache.get(key)
        if cached is not None:
            return cached
        if self._depth >= _MAX_INLINE_DEPTH:
            raise _TooDeep
        self._depth += 1
        try:
            new = self._skip_token_uncached(pos, maximum)
        finally:
            self._depth -= 1
        self._skip_cache[key] = new
        return new

    def _skip_token_uncached(self, pos: int, maximum: int) -> int:
        src = self.src
        ch = src[pos]
        new = pos + 1
        if ch == "\\":
            if pos + 1 < maximum and (src[pos + 1] in _ASCII_PUNCT or src[pos + 1] == "\n"):
                new = pos + 2
        elif ch == "`":
            end = self._code_span(pos, maximum)
            if end < 0:
                end = pos
                while end < maximum and src[end] == "`":
                    end += 1
            new = end
        elif ch == "[":
            link = self._link(pos, maximum, check_only=True)
            if link is not None and link[2]:
                new = link[1]
        elif ch == "!" and pos + 1 < maximum and src[pos + 1] == "[":
            img = self._link(pos + 1, maximum, check_only=True, image=True)
            if img is not None and img[2]:
                new = img[1]
        elif ch == "<":
            m = _AUTOLINK.match(src, pos, maximum) or _HTML_INLINE.match(src, pos, maximum)
            if m:
                new = m.end()
        elif ch == "&":
            m = _ENTITY.match(src, pos, maximum)
            if m:
                new = m.end()
        elif ch == "~" or ch == "*" or ch == "_":
            new = pos + 1
        return new

    def _label_end(self, start: int, maximum: int, disable_nested: bool) -> int:
        src = self.src
        if self._last_close <= start:
            return -1  # no ']' anywhere after: no label (keeps '[[[[' linear)
        pos = start + 1
        level = 1
        while pos < maximum:
            ch = src[pos]
            if ch == "]":
                level -= 1
                if level == 0:
                    return pos
            prev = pos
            pos = self._skip_token(pos, maximum)
            if ch == "[":
                if prev == pos - 1:
                    level += 1
                elif disable_nested:
                    return -1
        return -1

    def _link(
        self, start: int, maximum: int, check_only: bool, image: bool = False
    ) -> tuple[int, int, bool] | None:
        """If ``src[start] == '['`` opens a link (image), return (label end, end, True).

        A shortcut, collapsed or full reference whose label is not defined
        gives (label end, end, False) unless ``check_only``: it is text, but
        a definition anywhere in the answer (even a later one) would make it
        a link.  None if no definition could.
        """
        src = self.src
        label_end = self._label_end(start, maximum, disable_nested=not image)
        if label_end < 0:
            return None
        pos = label_end + 1
        parse_ref = True
        if pos < maximum and src[pos] == "(":
            parse_ref = False
            pos += 1
            while pos < maximum and src[pos] in " \t\n":
                pos += 1
            if pos >= maximum:
                return None
            dest_end = _link_destination(src, pos, maximum)
            if dest_end >= 0:
                pos = dest_end
                tstart = pos
                while pos < maximum and src[pos] in " \t\n":
                    pos += 1
                title_end = _link_title(src, pos, maximum)
                if pos < maximum and tstart != pos and title_end >= 0:
                    pos = title_end
                    while pos < maximum and src[pos] in " \t\n":
                        pos += 1
            if pos >= maximum or src[pos] != ")":
                parse_ref = True
            else:
                return label_end, pos + 1, True
        if parse_ref:
            if check_only and not self.refs:
                return None
            label = ""
            pos = label_end + 1
            if pos < maximum and src[pos] == "[":
                lend = self._label_end(pos, maximum, disable_nested=False)
                if lend >= 0:
                    label = src[pos + 1 : lend]
                    pos = lend + 1
                else:
                    pos = label_end + 1
            if not label:
                label = src[start + 1 : label_end]
            key = normalize_label(label)
            if key in self.refs:
                return label_end, pos, True
            # could a definition match?  (what _REF_DEF accepts as a label)
            if check_only or not key or not _DEFINABLE_LABEL.fullmatch(label):
                return None
            return label_end, pos, False
        return None


def _link_destination(src: str, pos: int, maximum: int) -> int:
    """End of a link destination at ``pos`` (markdown-it's parseLinkDestination), or -1."""
    if src[pos] == "<":
        pos += 1
        while pos < maximum:
            ch = src[pos]
            if ch == "\n" or ch == "<":
                return -1
            if ch == ">":
                return pos + 1
            if ch == "\\" and pos + 1 < maximum:
                pos += 2
                continue
            pos += 1
        return -1
    level = 0
    start = pos
    while pos < maximum:
        ch = src[pos]
        if ch == " " or ord(ch) < 0x20 or ord(ch) == 0x7F:
            break
        if ch == "\\" and pos + 1 < maximum:
            if src[pos + 1] == " ":
                break
            pos += 2
            continue
        if ch == "(":
            level += 1
            if level > 32:
                return -1
        if ch == ")":
            if level == 0:
                break
            level -= 1
        pos += 1
    if start == pos or level != 0:
        return -1
    return pos


def _link_title(src: str, pos: int, maximum: int) -> int:
    """End of a link title at ``pos``, or -1."""
    if pos >= maximum:
        return -1
    marker = src[pos]
    if marker not in "\"'(":
        return -1
    close = ")" if marker == "(" else marker
    pos += 1
    while pos < maximum:
        ch = src[pos]
        if ch == close:
            return pos + 1
        if ch == "(" and marker == "(":
            return -1
        if ch == "\\" and pos + 1 < maximum:
            pos += 1
        pos += 1
    return -1


# what inside brackets parses differently as link text than as plain text
_REF_SENSITIVE = frozenset("*_~`<")
_MENTION_FORBIDDEN = re.compile(r"[\[\]\\`<>*_~&|\n\r!]")
# unescaped characters a label must not hold (escaped ASCII punctuation is fine)
_LABEL_FORBIDDEN = frozenset("[]`<>*_~&|!:@/.\\")
# characters that still act inside code spans and raw HTML, escaped or not: a
# label holding one could close a code span or tag opened before the mention
_LABEL_CLOSERS = frozenset("`>\"'-?]")
_DESTINATION = re.compile(r"\]\(((?:[^\s()<>|\\`\x00-\x1f\x7f]|\\[!-/:-@\[-`{-~])+)\)")
# a whole valid suffix: the destination, then a label of escaped ASCII
# punctuation and characters outside _LABEL_FORBIDDEN and the C0 controls;
# each written as runs of plain characters between escapes, which the
# regex engine reads in one loop rather than one alternation per character
_ESCAPE = r"\\[!-/:-@\[-`{-~]"
_DEST_CHAR = r"[^\s()<>|\\`\x00-\x1f\x7f]"
_LABEL_CHAR = r"[^\[\]`<>*_~&|!:@/.\\\x00-\x1f]"
_SUFFIX = re.compile(
    rf"\]\(((?={_DEST_CHAR}|{_ESCAPE}){_DEST_CHAR}*(?:{_ESCAPE}{_DEST_CHAR}*)*)\)"
    rf"({_LABEL_CHAR}*(?:{_ESCAPE}{_LABEL_CHAR}*)*)\Z"
)
_LABEL_CLOSER = re.compile("[" + re.escape("".join(sorted(_LABEL_CLOSERS))) + "]")
# the full emphasis re-check is linear in the delimiters of the unit; above
# this many delimiters, mentions that would need it are refused (``MARKUP``)
_MAX_DELIMITERS = 1000
# the full re-parse (labels holding code/HTML closers) is linear in the unit
_MAX_REPARSE = 20_000

# (start, end, prefix, suffix) of one insertion, in unit (src) offsets
_Wrap = tuple[int, int, str, str]


@attrs.define
class _Unit:
    """One inline unit (paragraph or table cell) prepared for placement."""

    src: str
    # per line: (doc offset, src offset, length), and the doc offsets alone
    lines: tuple[tuple[int, int, int], ...]
    line_docs: list[int]
    result: _InlineResult
    urls: tuple[tuple[int, int], ...]
    url_starts: list[int]
    gated: bool
    # refusing spans sorted by start: (start, end, list order, reason)
    spans: list[tuple[int, int, int, Refusal]]
    span_starts: list[int]
    span_max_end: list[int]  # running maximum of the ends
    atoms: list[tuple[int, int]]
    atom_starts: list[int]
    has_closables: bool  # holds a backtick or '<' (see _LABEL_CLOSERS)
    unsure: bool  # refuse every mention (see _InlineResult.unsure, _TooDeep)
    # brackets that are a link or not depending on the definitions hold
    # delimiters or closers: refuse what needs the emphasis check or re-parse
    ref_sensitive: bool
    emphasis_cache: dict[tuple[int, int, str, str, str], bool] = attrs.Factory(dict)

    def to_src(self, start: int, end: int) -> tuple[int, int]:
        """Doc offsets -> src offsets, or (-1, -1) if not within one line."""
        i = bisect.bisect_right(self.line_docs, start) - 1
        if i >= 0:
            doc, off, n = self.lines[i]
            if doc <= start and end <= doc + n:
                return off + start - doc, off + end - doc
        return -1, -1

    def span_reason(self, s: int, e: int) -> Refusal | None:
        """The first-listed refusing span overlapping ``src[s:e]``."""
        i = bisect.bisect_left(self.span_starts, e) - 1
        best: tuple[int, Refusal] | None = None
        while i >= 0 and self.span_max_end[i] > s:
            _a, b, order, why = self.spans[i]
            if b > s and (best is None or order < best[0]):
                best = (order, why)
            i -= 1
        return None if best is None else best[1]

    def touches_url(self, s: int, e: int) -> bool:
        i = bisect.bisect_right(self.url_starts, e) - 1
        return i >= 0 and self.urls[i][1] >= s

    def splits_atom(self, p: int) -> bool:
        i = bisect.bisect_right(self.atom_starts, p) - 1
        return i >= 0 and self.atoms[i][0] < p < self.atoms[i][1]


def _build_unit(text: str, segs: tuple[_Segment, ...], refs: set[str]) -> _Unit:
    if len(segs) == 1:
        seg = segs[0]
        src = text[seg.start : seg.end]
        lines = [(seg.start, 0, seg.end - seg.start)]
    else:
        parts = []
        lines = []
        off = 0
        for seg in segs:
            parts.append(text[seg.start : seg.end])
            lines.append((seg.start, off, seg.end - seg.start))
            off += seg.end - seg.start + 1
        src = "\n".join(parts)
    # trailing whitespace of the last line is not part of the inline content
    stripped = src.rstrip(_TRIM_CHARS)
    if len(stripped) < len(src):
        d, s, n = lines[-1]
        lines[-1] = (d, s, max(0, n - (len(src) - len(stripped))))
        src = stripped
    result = _InlineParser(src, refs).parse()
    # Whether brackets are a reference link depends on definitions anywhere
    # in the answer, also after this block (a stream has not seen those yet).
    # So the refusals are those with no definitions at all (where every
    # bracket pair that a definition could make a link is refused as one)
    # together with those under the actual definitions.
    bare = _InlineParser(src, set()).parse() if refs and "[" in src else result
    ref_sensitive = _ref_sensitive(src, bare)
    spans: list[tuple[int, int, int, Refusal]] = []
    max_end: list[int] = []
    if bare.spans or result.spans:
        all_spans = [sp for sp in bare.spans if sp[2] is Refusal.IN_LINK]
        all_spans.extend(result.spans)
        if bare is not result:
            all_spans.extend(sp for sp in bare.spans if sp[2] is not Refusal.IN_LINK)
        spans = sorted((a, b, i, why) for i, (a, b, why) in enumerate(all_spans))
        top = -1
        for _a, b, _i, _w in spans:
            top = max(top, b)
            max_end.append(top)
    urls = _bare_urls(src)
    # linkify only looks at a block whose whole text passes its pretest; our
    # link's https:// would open that gate for URL-like text left unlinked
    gated = _linkifiable(src) and not _linkify_pretest(src)
    atoms = sorted(set(result.atoms) | set(bare.atoms)) if result.atoms or bare.atoms else []
    return _Unit(
        src=src,
        lines=tuple(lines),
        line_docs=[d for d, _s, _n in lines],
        result=result,
        urls=tuple(urls),
        url_starts=[a for a, _b in urls],
        gated=gated,
        spans=spans,
        span_starts=[a for a, _b, _i, _w in spans],
        span_max_end=max_end,
        atoms=atoms,
        atom_starts=[a for a, _b in atoms],
        has_closables="`" in src or "<" in src,
        unsure=result.unsure or bare.unsure,
        ref_sensitive=ref_sensitive,
    )


def _bare_urls(src: str) -> list[tuple[int, int]]:
    """The spans of what linkify may take for addresses in ``src``.

    Every ``_urlish()`` match lies inside one run of ``[^\\s<>]`` characters
    and holds one of ``./@:``, so the scan jumps from such a character to
    the start of its run and searches that run only: the same matches as
    searching the whole text, without walking the text between addresses.
    """
    urls: list[tuple[int, int]] = []
    n = len(src)
    pos = 0
    reverse = ""
    while True:
        anchor = _URL_ANCHOR.search(src, pos)
        if anchor is None:
            break
        a = anchor.start()
        if not reverse:
            reverse = src[::-1]
        # the run's start (not before pos), read backwards from the anchor
        back = _URL_RUN.match(reverse, n - a, n - pos)
        assert back is not None
        run_end = _URL_RUN.match(src, a)
        assert run_end is not None
        m = _urlish().search(src, a - (back.end() - (n - a)), run_end.end())
        if m is None:
            pos = run_end.end()
            continue
        rest = _URL_REST.match(src, m.end())
        assert rest is not None
        pos = rest.end()
        tok = m.group(0)
        if "//" in tok or "@" in tok or _URL_TLDISH.search(tok) or tok.startswith("mailto:"):
            urls.append((m.start(), rest.end()))
    return urls


def _ref_sensitive(src: str, bare: _InlineResult) -> bool:
    """Whether a bracket pair that may or may not be a link holds delimiters.

    ``bare`` is the parse without definitions.  A pair at the top level is
    checked itself; one inside a link's text, that whole link (a nested link
    turns it into plain text).
    """
    if not bare.potentials:
        return False
    counts = [0]
    for c in src:
        counts.append(counts[-1] + (c in _REF_SENSITIVE))
    potential = {(p, q) for p, q, level in bare.potentials if level == 0}
    # the links of the top level: they do not overlap
    links = sorted(
        (a, b)
        for a, b, why in bare.spans
        if why is Refusal.IN_LINK and src[a] in "[!" and (a, b) not in potential
    )
    starts = [a for a, _b in links]
    for p, q, level in bare.potentials:
        if level > 0:
            i = bisect.bisect_right(starts, p) - 1
            if i < 0 or links[i][1] < q:
                return True  # not where expected: assume the worst
            p, q = links[i]
        if counts[q] > counts[p]:
            return True
    return False


_QUIRK_DELIM = re.compile(r"[ \t]*[|:-][|:\- \t]*$")
_QUIRK_START = re.compile(r"[ \t]{0,3}(?:[-*+>#]|\d{1,9}[.)])")


@attrs.frozen
class ScanPoint:
    """Where ``MarkdownLayout.analyze`` can resume: the start of a line after a ``\\n``.

    The block scanner's whole state there: what it emitted, and the
    containers and the leaf still open (copies; a resume copies them again,
    so one point serves many resumes).
    """

    at: int
    out: tuple[_LeafInfo, ...]  # the leaves emitted before ``at``
    refs: frozenset[str]  # the definitions seen before ``at``
    quirk: int  # the table quirk's offset before ``at``, or -1
    prev: tuple[int, int]  # the line before ``at`` (start, end of content)
    containers: tuple[_Container, ...] = ()  # open at ``at``
    leaf: _Leaf | None = None  # open at ``at``
    content_upto: int = 0
    starts: tuple[int, ...] = ()  # of the leaves in ``out``
    blocks: tuple[Block, ...] = ()  # of the leaves in ``out``

    @classmethod
    def of(cls, scanner: _BlockScanner, at: int, quirk: int, prev: tuple[int, int]) -> ScanPoint:
        """The state of ``scanner`` before it reads the line at ``at``."""
        return cls(
            at,
            tuple(scanner.out),
            frozenset(scanner.refs),
            quirk,
            prev,
            tuple(attrs.evolve(c) for c in scanner.containers),
            _copy_leaf(scanner.leaf),
            scanner.content_upto,
            tuple(scanner.starts),
            tuple(scanner.blocks),
        )

    def restore(self, scanner: _BlockScanner) -> None:
        """Put ``scanner`` in the state this point was taken in."""
        scanner.out = list(self.out)
        scanner.starts = list(self.starts)
        scanner.blocks = list(self.blocks)
        scanner.refs = set(self.refs)
        scanner.containers = [attrs.evolve(c) for c in self.containers]
        scanner.leaf = _copy_leaf(self.leaf)
        scanner.content_upto = self.content_upto


# The leaves where a link may go, depending on where the mention sits.
_TEXT_LEAVES = ("paragraph", "table")


class MarkdownScan:
    """The block scan of a Markdown text, before its open leaf is closed.

    ``MarkdownLayout.analyze`` is this scan and then ``layout()``, which
    closes the leaf still open at the end (a paragraph or table is split
    into its units then, a cost that grows with its length).  A stream
    asking where its text is final only needs to know which leaf is open
    (``open_leaf``) and the blocks closed before it (``blocks``), so it
    closes the leaf only when it needs the layout.

    Args:
        text: the text, as for ``MarkdownLayout.analyze``.
        resume: a scan point of an earlier scan of a prefix of ``text``.
    """

    def __init__(self, text: str, resume: ScanPoint | None = None) -> None:
        scan = _normalise_lines(text)
        self._text = text
        self._scan = scan
        self._scanner = _BlockScanner(scan)
        pos = 0
        # The table quirk's offset (see _table_quirk), -1 while none, and the
        # line before the next one (start, end of content): computed along
        # the same lines.
        self._quirk = -1
        self._prev = (-1, -1)
        if resume is not None and resume.at <= len(scan):
            pos = resume.at
            resume.restore(self._scanner)
            self._quirk = resume.quirk
            self._prev = resume.prev
        self._point = resume
        self._layout: MarkdownLayout | None = None
        self._spent = False  # its scanner was finished (``final_layout``)
        self._lines(pos)

    def _lines(self, pos: int) -> None:
        """Scan the lines of the text from ``pos`` (a line start) on."""
        text, scan, scanner = self._text, self._scan, self._scanner
        n = len(scan)
        quirk = self._quirk
        prev_start, prev_end = self._prev
        # A longer text's scan resumes after the last "\n" (a line ending
        # in a lone CR may still become CRLF): the point is taken there.
        mark = text.rfind("\n") + 1
        while pos < n:
            if pos == mark:
                self._point = ScanPoint.of(scanner, pos, quirk, (prev_start, prev_end))
            nl = scan.find("\n", pos)
            nxt = n if nl < 0 else nl + 1
            scanner.feed(pos, nxt)
            end = nxt - 1 if nl >= 0 else n
            if end > pos and scan[end - 1] == "\r":
                end -= 1
            if (
                quirk < 0
                and prev_start >= 0
                and scan.find("-", pos, end) >= 0
                and _QUIRK_DELIM.match(scan, pos, end)
                and "|" in scan[prev_start:prev_end]
                and _QUIRK_START.match(scan, prev_start, prev_end)
            ):
                quirk = prev_start
            prev_start, prev_end = pos, end
            pos = nxt
        self._quirk = quirk
        self._prev = (prev_start, prev_end)

    def grow(self, text: str) -> None:
        """Scan on to ``text``: the text scanned so far and more lines after it.

        The text scanned so far must end with a line break (so its last
        line is final) and be a prefix of ``text`` (not checked: a stream's
        buffer only grows).  The scan is then that of ``MarkdownScan(text)``.
        """
        old = len(self._text)
        if len(text) == old:
            return
        if self._spent:
            raise ValueError("a scan whose final layout was made cannot grow")
        if old and self._text[-1] != "\n":
            raise ValueError("only a scan of complete lines can grow")
        self._text = text
        self._scan += _normalise_lines(text[old:])
        self._scanner.text = self._scan
        self._layout = None
        self._lines(old)

    @property
    def scan_point(self) -> ScanPoint | None:
        """Where a longer text's scan can resume: after the last ``\n``.

        ``None`` for a text without one.  Taken when asked for, once per
        text, at the end of a text that ends with ``\n``.
        """
        point = self._point
        size = len(self._scan)
        if size and self._text[-1] == "\n" and (point is None or point.at < size):
            point = self._point = ScanPoint.of(self._scanner, size, self._quirk, self._prev)
        return point

    @property
    def blocks(self) -> Sequence[Block]:
        """The blocks closed so far (not the open leaf, nor one it may still become)."""
        return self._scanner.blocks

    @property
    def open_leaf(self) -> tuple[str, int] | None:
        """The kind and start of the leaf still open at the end, if any.

        Kinds: ``"paragraph"`` (link reference definitions at its start are
        split off when it closes), ``"table"``, ``"fence"``, ``"indented"``
        (code), ``"html"``.
        """
        leaf = self._scanner.leaf
        if leaf is None or not leaf.lines:
            return None
        return leaf.kind, leaf.lines[0].start

    def refused_at(self, pos: int) -> bool:
        """Whether a mention starting at ``pos`` can never take a link.

        True in a leaf that takes no link wherever a mention sits in it
        (code, HTML, a heading, a definition, a blank line or a thematic
        break), closed or still open; False in a paragraph or table (it
        depends on the mention) and outside every leaf.
        """
        open_leaf = self.open_leaf
        if open_leaf is not None and pos >= open_leaf[1]:
            return open_leaf[0] not in _TEXT_LEAVES
        starts = self._scanner.starts
        i = bisect.bisect_right(starts, pos) - 1
        if i < 0:
            return False
        block = self._scanner.blocks[i]
        return block.start <= pos < block.end and block.kind not in _TEXT_LEAVES

    def layout(self) -> MarkdownLayout:
        """The layout of the text (made once per text; the scan can still grow).

        A copy of the scanner closes the open leaf and containers (a
        paragraph or table is split into its units then, a cost that grows
        with its length); the scan itself stays open.
        """
        if self._layout is None:
            # (Its ``scan_point`` is not taken: the scan, still open, has it.)
            self._layout = self._finished(self._scanner.copy(), None)
        return self._layout

    def final_layout(self) -> MarkdownLayout:
        """``layout()`` for a scan that will not grow: its scanner is finished itself."""
        if self._layout is None:
            self._layout = self._finished(self._scanner, self.scan_point)
            self._spent = True
        return self._layout

    def _finished(self, scanner: _BlockScanner, point: ScanPoint | None) -> MarkdownLayout:
        scanner.finish()
        layout = MarkdownLayout(
            self._text, scanner.out, scanner.refs, self._scan, scanner.starts, scanner.blocks
        )
        layout._unsure_from = self._quirk if self._quirk >= 0 else len(self._scan) + 1
        layout.scan_point = point
        return layout


def _copy_leaf(leaf: _Leaf | None) -> _Leaf | None:
    if leaf is None:
        return None
    # a line is not changed once it is in a leaf: the list is copied, not the lines
    return attrs.evolve(leaf, lines=list(leaf.lines))


def _table_quirk(scan: str) -> int:
    """Where markdown-it's table rule would pre-empt a list, quote or heading.

    markdown-it tries tables before any other block rule, so a line such as
    ``- a | b`` followed by a bare delimiter row ``---|---`` is a table whose
    first cell is ``- a``, not a list item; the block scanner does not model
    that.  Returns the offset of the first such line (everything from there
    on is refused), or past the end if there is none.
    """
    pos = 0
    n = len(scan)
    prev_start, prev_end = -1, -1
    while pos < n:
        nl = scan.find("\n", pos)
        nxt = n if nl < 0 else nl + 1
        end = nxt - 1 if nl >= 0 else n
        if end > pos and scan[end - 1] == "\r":
            end -= 1
        if (
            prev_start >= 0
            and "-" in scan[pos:end]
            and _QUIRK_DELIM.match(scan, pos, end)
            and "|" in scan[prev_start:prev_end]
            and _QUIRK_START.match(scan, prev_start, prev_end)
        ):
            return prev_start
        prev_start, prev_end = pos, end
        pos = nxt
    return n + 1


def _label_of(suffix: str) -> str | None:
    """The label after the destination of a valid suffix, or None if invalid."""
    m = _SUFFIX.match(suffix)
    return None if m is None else m.group(2)


class MarkdownLayout:
    """The block structure of one Markdown answer, and where links may go.

    Build with ``MarkdownLayout.analyze(text)``; ask ``place`` per mention.
    Inline analysis is done lazily for the blocks ``place`` is asked about
    and cached, so each ``place`` call costs about the same however long the
    paragraph is.
    """

    def __init__(
        self,
        text: str,
        infos: list[_LeafInfo],
        refs: set[str],
        scan: str | None = None,
        starts: list[int] | None = None,
        blocks: Sequence[Block] | None = None,
    ) -> None:
        self._text = text
        self._scan = text if scan is None else scan  # as CommonMark reads it, same offsets
        self._infos = infos
        self._refs = refs
        # ``starts`` and ``blocks``: those of ``infos``, if the scan kept them.
        self._starts = starts if starts is not None else [i.block.start for i in infos]
        self._units: dict[tuple[int, int], _Unit] = {}
        self._seg_index: dict[int, tuple[list[int], list[tuple[int, int, int]]]] = {}
        self._blocks = tuple(blocks) if blocks is not None else tuple(i.block for i in infos)
        self._unsure_from = len(text) + 1  # from here on, refuse (see _table_quirk)
        # (prefix, suffix) -> (valid, label holds a code/HTML closer)
        self._affixes: dict[tuple[str, str], tuple[bool, bool]] = {}
        # (start, end, what ``_structure`` found) for the last mention asked about
        self._last_structure: (
            tuple[int, int, tuple[_LeafInfo, _Unit, tuple[int, int]] | Refusal] | None
        ) = None
        # Where a longer text's analysis can resume (``analyze(resume=)``);
        # None for the layout of a scan still open (``MarkdownScan.layout``).
        self.scan_point: ScanPoint | None = None
        # What the link forms work out once per layout (card anchors).
        self.memo: dict[str, Any] = {}

    @classmethod
    def analyze(cls, text: str, resume: ScanPoint | None = None) -> MarkdownLayout:
        """Scan ``text`` (Markdown) into leaf blocks and reference definitions.

        Line endings are ``\\n``, ``\\r\\n`` or ``\\r``; NUL reads as U+FFFD, as
        CommonMark says.  Offsets always refer to ``text`` itself.

        ``resume``: a ``scan_point`` of an earlier layout of a prefix of
        ``text``; the lines before it are not scanned again (the point holds
        the scanner's whole state there, open containers and leaf included).
        The layout is the same as without it.
        """
        return MarkdownScan(text, resume).final_layout()

    @property
    def blocks(self) -> Sequence[Block]:
        """The leaf blocks in document order."""
        return self._blocks

    def _info_at(self, pos: int) -> _LeafInfo | None:
        i = bisect.bisect_right(self._starts, pos) - 1
        if i < 0:
            return None
        info = self._infos[i]
        if info.block.start <= pos < info.block.end:
            return info
        return None

    def block_at(self, pos: int) -> Block | None:
        """The leaf block holding offset ``pos``, or None (e.g. past the end)."""
        info = self._info_at(pos)
        return None if info is None else info.block

    def _locate(self, start: int, end: int) -> tuple[_LeafInfo, _Unit | None] | Refusal:
        """The block and inline unit holding ``text[start:end]``, or why there is none."""
        text = self._text
        if not (0 <= start < end <= len(text)):
            return Refusal.NOT_TEXT
        if end > self._unsure_from:
            return Refusal.MARKUP
        info = self._info_at(start)
        if info is None or info.block.end < end:
            return Refusal.NOT_TEXT
        if info.refusal is not None:
            return info.refusal
        if info.unsure:
            return Refusal.MARKUP
        index = self._seg_index.get(info.block.start)
        if index is None:
            entries = sorted(
                (sg.start, sg.end, ui) for ui, segs in enumerate(info.units) for sg in segs
            )
            index = ([a for a, _b, _u in entries], entries)
            self._seg_index[info.block.start] = index
        starts, entries = index
        i = bisect.bisect_right(starts, start) - 1
        if i >= 0 and end <= entries[i][1]:
            ui = entries[i][2]
            key = (info.block.start, ui)
            unit = self._units.get(key)
            if unit is None:
                unit = _build_unit(self._scan, info.units[ui], self._refs)
                self._units[key] = unit
            return info, unit
        # partly in a unit (e.g. across table cells) or in none (a delimiter row)
        j = bisect.bisect_left(starts, end)
        for k in range(max(0, i), j):
            a, b, _u = entries[k]
            if a < end and start < b:
                return Refusal.MARKUP
        return Refusal.NOT_TEXT

    def _structural(self, unit: _Unit, start: int, end: int) -> tuple[int, int] | Refusal:
        """Src offsets of the mention, or the refusal that holds whatever the link."""
        s, e = unit.to_src(start, end)
        if s < 0:
            return Refusal.MARKUP
        if unit.unsure or unit.gated:
            return Refusal.MARKUP
        why = unit.span_reason(s, e)
        if why is not None:
            return why
        if unit.touches_url(s, e):
            return Refusal.IN_URL
        mention = self._text[start:end]
        if _MENTION_FORBIDDEN.search(mention) or mention != mention.strip():
            return Refusal.MARKUP
        if unit.splits_atom(s) or unit.splits_atom(e):
            return Refusal.MARKUP
        return s, e

    def refusal(self, start: int, end: int) -> Refusal | None:
        """Why ``text[start:end]`` can never take a link, or None if it might.

        The structural part of ``place`` only (code, links, URLs, HTML,
        headings, markup inside the mention), without the emphasis check:
        cheap, for reporting mentions that will not be linked anyway.  If
        this returns a refusal, ``place`` returns the same one.
        """
        found = self._structure(start, end)
        return found if isinstance(found, Refusal) else None

    def _structure(
        self, start: int, end: int
    ) -> tuple[_LeafInfo, _Unit, tuple[int, int]] | Refusal:
        """``_locate`` then ``_structural``, kept for the last mention asked about.

        The linker asks ``refusal`` and then ``place`` about the same mention.
        """
        last = self._last_structure
        if last is not None and last[0] == start and last[1] == end:
            return last[2]
        where = self._locate(start, end)
        if isinstance(where, Refusal):
            found: tuple[_LeafInfo, _Unit, tuple[int, int]] | Refusal = where
        else:
            info, unit = where
            assert unit is not None
            span = self._structural(unit, start, end)
            found = span if isinstance(span, Refusal) else (info, unit, span)
        self._last_structure = (start, end, found)
        return found

    def place(
        self,
        start: int,
        end: int,
        prefix: str,
        suffix: str,
        accepted: Sequence[tuple[Placement, str, str]] = (),
    ) -> Placement | Refusal:
        """Decide whether ``text[start:end]`` can be wrapped as ``prefix`` m ``suffix``.

        Args:
            start, end: the mention's offsets in the text.
            prefix: inserted before (starts with ``[``).
            suffix: inserted after (starts with ``](``; destination percent-encoded).
            accepted: links already placed in this answer, as
                ``(placement, prefix, suffix)``; the new link is checked
                together with them (those in other blocks do not matter).

        Returns:
            A ``Placement`` (possibly wider than the mention, to wrap a whole
            emphasis), or the ``Refusal`` saying why not.
        """
        found = self._structure(start, end)
        if isinstance(found, Refusal):
            return found
        info, unit, (s, e) = found
        affixes = self._affixes.get((prefix, suffix))
        if affixes is None:
            label = _label_of(suffix)
            affixes = (
                label is not None
                and prefix.startswith("[")
                and not _MENTION_FORBIDDEN.search(prefix, 1),
                label is not None and _LABEL_CLOSER.search(label) is not None,
            )
            if len(self._affixes) < 64:
                self._affixes[(prefix, suffix)] = affixes
        valid, label_closes = affixes
        if not valid:
            return Refusal.MARKUP
        others: list[_Wrap] = []
        if accepted:
            block_start, block_end = info.block.start, info.block.end
            for pl, pre, suf in accepted:
                if not (block_start <= pl.start < block_end):
                    continue
                a, b = unit.to_src(pl.start, pl.end)
                if a < 0:
                    continue
                others.append((a, b, pre, suf))
            others.sort()
        closers = unit.has_closables and label_closes
        candidate: tuple[int, int] | None = (s, e)
        widen = True
        while candidate is not None:
            cs, ce = candidate
            if self._fits(unit, cs, ce, s, e, prefix, suffix, others, closers):
                return Placement(start + (cs - s), end + (ce - e))
            # a link wrapping a whole emphasis around the mention, tried second
            candidate = self._widen(unit, s, e) if widen else None
            widen = False
        return Refusal.MARKUP

    def _fits(
        self,
        unit: _Unit,
        cs: int,
        ce: int,
        s: int,
        e: int,
        prefix: str,
        suffix: str,
        others: list[_Wrap],
        closers: bool,
    ) -> bool:
        """Whether ``prefix`` at ``src[cs]`` and ``suffix`` at ``src[ce]`` keep the rendering."""
        src = unit.src
        before = ""
        if others:
            if any(a < ce and cs < b for a, b, _p, _s in others):
                return False  # overlaps a link already placed
            before = next((suf[-1] for _a, b, _p, suf in others if b == cs), "")
        if not before:
            before = src[cs - 1] if cs > 0 else ""
        if before in ("!", "]", "\\"):
            return False
        # the label after the link must not touch a URL (linkify would re-scan it)
        if unit.urls and unit.touches_url(cs, ce):
            return False
        if closers:
            return (
                not unit.ref_sensitive
                and len(src) <= _MAX_REPARSE
                and self._same_inline(unit, sorted([*others, (cs, ce, prefix, suffix)]))
            )
        if (
            (cs, ce) == (s, e)
            and (cs == 0 or src[cs - 1] not in "*_~")
            and (ce >= len(src) or src[ce] not in "*_~")
        ):
            # The mention holds no delimiter and no delimiter run touches
            # the insertion, so no run's flanking changes and the pairing
            # stays as it was (with ``others``).
            return True
        # the pairing depends on which brackets are links if some
        # hold delimiters; a later definition could change it
        return not unit.ref_sensitive and self._emphasis_kept(
            unit, sorted([*others, (cs, ce, prefix, suffix)]), not others
        )

    @staticmethod
    def _widen(unit: _Unit, s: int, e: int) -> tuple[int, int] | None:
        """The span of an emphasis pair exactly around ``src[s:e]``, if there is one."""
        src = unit.src
        if s == 0 or e >= len(src) or src[s - 1] not in "*_~" or src[s - 1] != src[e]:
            return None
        marker = src[e]
        a = s
        while a > 0 and src[a - 1] == marker:
            a -= 1
        b = e
        while b < len(src) and src[b] == marker:
            b += 1
        if b - e != s - a:
            return None
        pairs = unit.result.pairs
        n = s - a
        # every char of the opening run pairs with a char of the closing run
        if src[s - 1] == "~":
            want = {(a + k, e + (n - 2 - k)) for k in range(0, n, 2)} if n % 2 == 0 else None
            if want is None:
                return None
        else:
            want = {(a + k, e + (n - 1 - k)) for k in range(n)}
        if not want <= pairs:
            return None
        return a, b

    @staticmethod
    def _emphasis_kept(unit: _Unit, wraps: list[_Wrap], cacheable: bool) -> bool:
        """Whether the top-level emphasis pairs survive inserting ``wraps``.

        Re-runs only the delimiter algorithm (not the inline parse), with the
        flanking of the runs that touch an insertion recomputed and the
        delimiters inside a link moved to the link's own scope.  Other
        constructs cannot change: prefix, destination and label are checked
        to open nothing.
        """
        delims = unit.result.top_delims
        if len(delims) > _MAX_DELIMITERS:
            return False
        src = unit.src
        key = (0, 0, "", "", "")
        if cacheable:
            cs, ce, pre, suf = wraps[0]
            key = (cs, ce, pre[0], pre[-1], suf[-1])
            cached = unit.emphasis_cache.get(key)
            if cached is not None:
                return cached
        starts = [w[0] for w in wraps]
        at_start = {w[0]: w for w in wraps}
        at_end = {w[1]: w for w in wraps}
        scopes: dict[int, list[_PairInput]] = {}
        n = len(src)
        for pos, marker, length, token, op, cl, run, run_len in delims:
            i = bisect.bisect_right(starts, pos) - 1
            inside = i >= 0 and pos < wraps[i][1]
            rend = run + run_len
            if inside:
                w = wraps[i]
                if run == w[0] or rend == w[1]:
                    last = w[2][-1] if run == w[0] else src[run - 1]
                    nxt = " " if rend == w[1] else src[rend]
                    op, cl = _flank(marker, last, nxt)
            elif run in at_end or rend in at_start:
                last = at_end[run][3][-1] if run in at_end else (src[run - 1] if run else " ")
                nxt = src[rend] if rend < n else " "
                if rend in at_start:
                    nxt = at_start[rend][2][0]
                op, cl = _flank(marker, last, nxt)
            scopes.setdefault(i if inside else -1, []).append((pos, marker, length, token, op, cl))
        pairs: set[tuple[int, int]] = set()
        for scope in scopes.values():
            ends = _pair_ends(scope)
            pairs.update((scope[k][0], scope[j][0]) for k, j in enumerate(ends) if j >= 0)
        ok = pairs == unit.result.top_pairs
        if cacheable:
            unit.emphasis_cache[key] = ok
        return ok

    def _same_inline(self, unit: _Unit, wraps: list[_Wrap]) -> bool:
        """Re-parse the unit with ``wraps`` inserted; True if only they changed it."""
        src = unit.src
        parts: list[str] = []
        # (new offset where an insertion starts, its length), in order
        inserted: list[tuple[int, int]] = []
        pos = 0
        shift = 0
        ours: list[tuple[int, int, int]] = []
        for cs, ce, pre, suf in wraps:
            parts.append(src[pos:cs])
            inserted.append((cs + shift, len(pre)))
            parts.append(pre)
            shift += len(pre)
            parts.append(src[cs:ce])
            inserted.append((ce + shift, len(suf)))
            ours.append((cs + shift - len(pre), ce + shift, ce + shift + suf.index(")") + 1))
            parts.append(suf)
            shift += len(suf)
            pos = ce
        parts.append(src[pos:])
        new = "".join(parts)
        res = _InlineParser(new, self._refs).parse()
        # the new links must be exactly ours
        if any(link not in res.links for link in ours):
            return False
        ins_starts = [a for a, _n in inserted]
        before_total = [0]
        for _a, ln in inserted:
            before_total.append(before_total[-1] + ln)

        def back(p: int) -> int:
            i = bisect.bisect_right(ins_starts, p) - 1
            if i >= 0 and p < inserted[i][0] + inserted[i][1]:
                return -1
            return p - before_total[i + 1]

        mapped = {(back(a), back(b)) for a, b in res.pairs}
        if any(a < 0 or b < 0 for a, b in mapped) or mapped != unit.result.pairs:
            return False
        # no other construct may change: compare spans outside the insertions
        our_starts = {o[0] for o in ours}
        before = {(a, b, w) for a, b, w in unit.result.spans}
        after = set()
        for a, b, w in res.spans:
            if a in our_starts and w is Refusal.IN_LINK:
                continue
            ma, mb = back(a), back(b - 1)
            if ma < 0 or mb < 0:
                return False
            after.add((ma, mb + 1, w))
        return before == after
