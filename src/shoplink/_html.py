"""Where links may go in an HTML answer: text nodes only, with exact source offsets.

``HtmlLayout`` has the same duck-typed API as ``MarkdownLayout`` (``analyze``,
``place``, ``block_at``, ``blocks``) so the linker does not care which format
it links.  It is built on the standard library's ``html.parser`` with
``convert_charrefs=False``, so that every text piece and every character
reference arrives with its place in the source:

- a mention may be wrapped only where it lies inside one run of text (no tag
  inside it) whose ancestors are none of ``a``, code-like, raw-text, form,
  heading or foreign (``svg``/``math``) elements;
- a character reference (``&amp;``) may sit inside a wrapped mention, but a
  mention that starts or ends inside one is refused: splitting it would
  change the text;
- tags, attributes, comments, declarations and CDATA are never text.

The parser raises on a few malformed declarations (``<![foo]>``); everything
from that point on is then treated as not-text (and nothing as tokenized), so
the answer is still returned whole.

``HtmlIncremental`` gives the same layouts for a text that grows at its end
(a stream's buffer), parsing only the new text each time.
"""

from __future__ import annotations

import bisect
import html.parser
import re
import sys
from collections.abc import Sequence
from html.parser import HTMLParser

import attrs

from ._markdown import VOID_ELEMENTS, Block, Placement, Refusal

__all__ = ["HtmlIncremental", "HtmlLayout"]

_CODE = frozenset({"code", "pre", "kbd", "samp", "tt", "var"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "hgroup"})
# Text inside these is not prose a link may wrap (or a browser would move it).
_NO_TEXT = frozenset(
    [
        "script",
        "style",
        "textarea",
        "title",
        "button",
        "select",
        "option",
        "optgroup",
        "datalist",
        "svg",
        "math",
        "template",
        "noscript",
        "iframe",
        "object",
        "embed",
        "applet",
        "xmp",
        "plaintext",
        "noembed",
        "noframes",
        "head",
        "label",
        "canvas",
        "video",
        "audio",
    ]
)
_TABLE_SECTIONS = frozenset({"table", "thead", "tbody", "tfoot", "tr", "colgroup"})
_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "details",
        "dialog",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
# A card after a mention inside one of these goes after the whole container.
_ESCAPE = frozenset({"ul", "ol", "dl", "menu", "table", "blockquote", "details", "figure"})
# Start tags that implicitly close an open <p>.
_BODY_CLOSERS = ("</body", "</html")
_CLOSES_P = _BLOCK - {"body", "html", "td", "th", "tr", "tbody", "thead", "tfoot", "dd", "dt"}
_NEWLINE = re.compile("\n")
# The pattern ``HTMLParser.check_for_whole_start_tag`` locates a start tag's end with.
_START_TAG_END: re.Pattern[str] | None = getattr(html.parser, "locatestarttagend_tolerant", None)
# ``HtmlIncremental`` feeds ``html.parser`` in parts and relies on how this
# CPython's parser behaves then (five places, see the class); that was
# checked on CPython 3.11 (tests/test_html_incremental.py, every-character
# cuts and Hypothesis).  On other versions each layout is a full parse, as
# ``HtmlLayout.analyze`` does: slower for long streams, never different.
_INCREMENTAL = sys.version_info[:2] == (3, 11) and _START_TAG_END is not None
# What ``html.parser``'s ``entityref`` reads in a name, and its first character.
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_CHARS = "".join(sorted(_LETTERS)) + "0123456789-."
_REF = re.compile(r"&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)")


@attrs.define
class _Element:
    tag: str
    start: int
    parent: int  # index into elements, -1 at the root
    content_end: int = -1  # where its end tag starts (or where it was implicitly closed)
    end: int = -1  # after its end tag
    # Streaming: whether the element was created, and its end found, by
    # tokens complete in the text (not by ``close()`` or the end of the text).
    settled: bool = True
    settled_end: bool = False


@attrs.frozen
class _Text:
    start: int
    end: int
    ref: bool  # a character reference (never split)
    parent: int  # innermost open element, -1 at the root


class _Scanner(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.elements: list[_Element] = []
        self.stack: list[int] = []
        # How many elements of each tag are open (in ``stack``): a search of
        # the stack for a tag none is open as costs nothing, and a deeply
        # nested answer no longer costs time quadratic in its depth.
        self.open_tags: dict[str, int] = {}
        self.pieces: list[_Text] = []
        self.settled = True  # False once ``close()`` flushes an unfinished tail
        # Fed in parts (``feed_more``): a text piece starting at ``join_at``
        # continues the previous one; ``bailed`` once html.parser gave up on
        # a broken ``&#``, ``failed`` once it raised.
        self.join_at = -1
        self.bailed = False
        self.failed = False
        self.live = False  # ``HtmlIncremental``'s scanner: decide nothing the rest may change
        # Block elements started and elements ended so far: where a card
        # goes can only change with one of these (``HtmlIncremental.block_events``).
        self.block_events = 0

    def feed_more(self, data: str, base: int) -> None:
        """Feed ``data``, which follows ``text[:base]``, as a whole-text ``feed`` would.

        The caller keeps ``text`` and ``line_starts`` up to date, and cuts
        the text only where html.parser decides nothing by where the data
        ends (``HtmlIncremental._safe_end``).  With no ``data`` a copy of a
        live scanner parses on where the live one waited.
        """
        if self.failed:
            return
        if self.bailed:
            # A whole-text ``feed`` stopped there: the rest waits for ``close``.
            self.rawdata += data
            return
        pieces = self.pieces
        if (
            data
            and not self.rawdata
            and self.cdata_elem is None
            and pieces
            and pieces[-1].end == base
            and not pieces[-1].ref
            and data[0] not in "<&"
        ):
            # ``goahead`` reported the text up to the end of the data fed so
            # far; fed at once, it would have reported it with what follows.
            self.join_at = base
        try:
            self.feed(data)
        except Exception:  # ``<![foo]>``: ``analyze`` stops there, so does this
            self.failed = True
        self.join_at = -1

    def check_for_whole_start_tag(self, i: int) -> int:
        """html.parser's, but a live scanner waits while the rest could change the end.

        A quoted attribute value with no closing quote in the data fails, and
        the tag then ends at a ``>`` after it (``<a x ="y>``); a quote later
        in the text would make the value run on to it (``<a x ="y>z">``).
        Whether that can happen is tested by closing all quotes right after
        the tag: the tag must end at the same place.
        """
        end = super().check_for_whole_start_tag(i)
        if end >= 0 and self.live:
            rawdata = self.rawdata
            if _START_TAG_END is None:
                # Cannot tell where a closing quote would end the tag: any
                # quote in it makes the live scanner wait (``parsed`` stops).
                return -1 if ("'" in rawdata[i:end] or '"' in rawdata[i:end]) else end
            located = _START_TAG_END.match(rawdata, i)
            assert located is not None  # it matched in ``super()``
            j = located.end()
            probe = _START_TAG_END.match(rawdata[i : max(end, j + 1)] + "\"'")
            assert probe is not None
            if probe.end() != j - i:
                return -1
        return end

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _close(self, depth: int, at: int, end: int) -> None:
        """Close the open elements from ``stack[depth]`` inwards."""
        while len(self.stack) > depth:
            el = self.elements[self.stack.pop()]
            self.open_tags[el.tag] -= 1
            el.content_end, el.end = at, end
            el.settled_end = self.settled
            self.block_events += 1

    def _open_index(self, tags: frozenset[str], stop: frozenset[str] = frozenset()) -> int:
        open_tags = self.open_tags
        if not any(open_tags.get(tag) for tag in tags):
            return -1
        for depth in range(len(self.stack) - 1, -1, -1):
            tag = self.elements[self.stack[depth]].tag
            if tag in tags:
                return depth
            if tag in stop:
                return -1
        return -1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        at = self._offset()
        raw = self.get_starttag_text() or ""
        # The implicit end tags that matter for where text and cards go.
        if tag in _CLOSES_P:
            depth = self._open_index(frozenset({"p"}), stop=frozenset({"button"}) | _ESCAPE)
            if depth >= 0:
                self._close(depth, at, at)
        if tag == "li":
            depth = self._open_index(frozenset({"li"}), stop=frozenset({"ul", "ol", "menu"}))
            if depth >= 0:
                self._close(depth, at, at)
        if tag in ("dd", "dt"):
            depth = self._open_index(frozenset({"dd", "dt"}), stop=frozenset({"dl"}))
            if depth >= 0:
                self._close(depth, at, at)
        if tag in ("td", "th", "tr"):
            cells = frozenset({"td", "th"}) if tag != "tr" else frozenset({"td", "th", "tr"})
            depth = self._open_index(cells, stop=frozenset({"table"}))
            if depth >= 0:
                self._close(depth, at, at)
        parent = self.stack[-1] if self.stack else -1
        el = _Element(tag, at, parent, settled=self.settled)
        self.elements.append(el)
        if tag in _BLOCK:
            self.block_events += 1
        if tag in VOID_ELEMENTS:
            el.content_end = el.end = at + len(raw)
            el.settled_end = self.settled
        else:
            self.stack.append(len(self.elements) - 1)
            self.open_tags[tag] = self.open_tags.get(tag, 0) + 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        at = self._offset()
        raw = self.get_starttag_text() or ""
        parent = self.stack[-1] if self.stack else -1
        end = at + len(raw)
        self.elements.append(_Element(tag, at, parent, end, end, self.settled, self.settled))
        if tag in _BLOCK:
            self.block_events += 1

    def handle_endtag(self, tag: str) -> None:
        at = self._offset()
        close = self.text.find(">", at)
        end = len(self.text) if close < 0 else close + 1
        if not self.open_tags.get(tag):
            return  # a stray end tag closes nothing
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.elements[self.stack[depth]].tag == tag:
                # Elements left open inside are closed where this end tag starts.
                self._close(depth + 1, at, at)
                self._close(depth, at, end)
                return
        # A stray end tag closes nothing.

    def _add(self, start: int, end: int, ref: bool) -> None:
        if end > start:
            if start == self.join_at:
                last = self.pieces[-1]
                self.pieces[-1] = _Text(last.start, end, ref, last.parent)
                return
            self.pieces.append(_Text(start, end, ref, self.stack[-1] if self.stack else -1))

    def handle_data(self, data: str) -> None:
        at = self._offset()
        if data == "&#" and self.cdata_elem is None:
            # Outside script/style, ``goahead`` reports exactly ``&#`` only
            # when it gives up on a broken character reference, and it then
            # stops: the rest of this ``feed`` stays unparsed.
            self.bailed = True
        # In CDATA content (script/style) html.parser reports the raw source,
        # so the length is the source length.
        self._add(at, at + len(data), False)

    def handle_entityref(self, name: str) -> None:
        self._ref()

    def handle_charref(self, name: str) -> None:
        self._ref()

    def _ref(self) -> None:
        at = self._offset()
        m = _REF.match(self.text, at)
        self._add(at, m.end() if m else at + 1, True)


def _refusal(elements: list[_Element], parent: int) -> Refusal | None:
    """Why text whose innermost open element is ``elements[parent]`` takes no link."""
    index = parent
    while index >= 0:
        el = elements[index]
        if el.tag == "a":
            return Refusal.IN_LINK
        if el.tag in _CODE:
            return Refusal.IN_CODE
        if el.tag in _HEADINGS:
            return Refusal.IN_HEADING
        if el.tag in _NO_TEXT:
            return Refusal.IN_HTML
        index = el.parent
    if parent >= 0 and elements[parent].tag in _TABLE_SECTIONS:
        return Refusal.NOT_TEXT  # a browser would move this text out of the table
    return None


def _element_start(element: _Element) -> int:
    return element.start


def _extend_runs(
    runs: list[Block], elements: list[_Element], pieces: list[_Text], start: int, stop: int
) -> None:
    """Add ``pieces[start:stop]`` to ``runs``: adjacent pieces of one kind make one block."""
    for k in range(start, stop):
        piece = pieces[k]
        kind = "text" if _refusal(elements, piece.parent) is None else "other"
        if runs and runs[-1].end == piece.start and runs[-1].kind == kind:
            runs[-1] = Block(runs[-1].start, piece.end, kind)
        else:
            runs.append(Block(piece.start, piece.end, kind))


class HtmlLayout:
    """The text nodes of one HTML answer, and where links and cards may go.

    Build with ``HtmlLayout.analyze(text)``.
    """

    def __init__(
        self,
        text: str,
        elements: list[_Element],
        pieces: list[_Text],
        tokenized: int = -1,
        runs: list[Block] | None = None,
        done: int = 0,
        starts: list[int] | None = None,
        run_starts: list[int] | None = None,
    ) -> None:
        """Keep ``pieces`` and ``elements`` (not copied).

        ``HtmlIncremental`` passes what it knows already: ``runs``, the
        blocks of ``pieces[:done]``, and ``starts``, the starts of the first
        pieces; both are the new layout's to extend.
        """
        self._text = text
        # Streaming: the source before this offset is tokenized exactly as it
        # would be in any longer text (an unfinished tag, comment, character
        # reference or raw-text element after it is still pending).
        self.tokenized = len(text) if tokenized < 0 else tokenized
        self._elements = elements
        self._pieces = pieces
        if starts is None:
            starts = [p.start for p in pieces]
        elif len(starts) < len(pieces):
            starts += [p.start for p in pieces[len(starts) :]]
        self._starts = starts
        if runs is None:
            runs, done = [], 0
        if run_starts is None or len(run_starts) > len(runs):
            run_starts = []
        kept = len(run_starts)  # the starts of ``runs[:kept]``, given
        _extend_runs(runs, elements, pieces, done, len(pieces))
        self._blocks = tuple(runs)
        # Extending ``runs`` appends runs or lengthens the last: starts stay.
        self._block_starts = run_starts + [b.start for b in runs[kept:]]

    @classmethod
    def analyze(cls, text: str) -> HtmlLayout:
        """Parse ``text`` (HTML) into text runs and elements; never raises on bad HTML."""
        scanner = _Scanner(text)
        tokenized = 0
        try:
            scanner.feed(text)
            # What ``feed`` leaves unparsed waits for more text; ``close``
            # then guesses at it, so nothing from there on is final.
            tokenized = len(text) - len(scanner.rawdata)
            scanner.settled = False
            scanner.close()
        except Exception:  # ``<![foo]>`` (see ``HtmlIncremental``); stay safe
            tokenized = 0
        scanner.settled = False
        scanner._close(0, len(text), len(text))
        for el in scanner.elements:
            if el.end < 0:
                el.content_end = el.end = len(text)
                el.settled_end = False
        return cls(text, scanner.elements, scanner.pieces, tokenized)

    @property
    def blocks(self) -> Sequence[Block]:
        """Runs of adjacent text in document order (``kind`` "text" if links may go there)."""
        return self._blocks

    def block_at(self, pos: int) -> Block | None:
        """The text run holding offset ``pos``, or None (inside a tag, past the end)."""
        i = bisect.bisect_right(self._block_starts, pos) - 1
        if i >= 0 and self._blocks[i].start <= pos < self._blocks[i].end:
            return self._blocks[i]
        return None

    def ancestors(self, index: int) -> list[_Element]:
        """The element ``index`` and its ancestors, innermost first."""
        out = []
        while index >= 0:
            el = self._elements[index]
            out.append(el)
            index = el.parent
        return out

    def _refusal(self, parent: int) -> Refusal | None:
        return _refusal(self._elements, parent)

    def refusal(self, start: int, end: int) -> Refusal | None:
        """Why ``text[start:end]`` can take no link, or None (see ``place``)."""
        where = self.place(start, end, "", "")
        return where if isinstance(where, Refusal) else None

    def place(
        self,
        start: int,
        end: int,
        prefix: str,
        suffix: str,
        accepted: Sequence[tuple[Placement, str, str]] = (),
    ) -> Placement | Refusal:
        """Decide whether ``text[start:end]`` may be wrapped in ``prefix`` … ``suffix``.

        The span must lie in one run of text with no tag inside it, must not
        start or end inside a character reference, and no ancestor may be a
        link, code, heading or non-prose element.  The markup itself is the
        caller's (rendered from templates with escaping); it is not checked.
        Elements inserted into text nodes cannot change each other, so
        ``accepted`` (links already placed) only rules out overlap.
        """
        for other, _, _ in accepted:
            if other.start < end and start < other.end:
                return Refusal.MARKUP
        if not (0 <= start < end <= len(self._text)):
            return Refusal.NOT_TEXT
        i = bisect.bisect_right(self._starts, start) - 1
        if i < 0 or not (self._pieces[i].start <= start < self._pieces[i].end):
            return Refusal.IN_HTML
        first = self._pieces[i]
        refusal = self._refusal(first.parent)
        if refusal is not None:
            return refusal
        if first.ref and start != first.start:
            return Refusal.NOT_TEXT
        j = i
        while self._pieces[j].end < end:
            nxt = j + 1
            if nxt >= len(self._pieces) or self._pieces[nxt].start != self._pieces[j].end:
                return Refusal.MARKUP  # a tag or comment inside the mention
            if self._pieces[nxt].parent != first.parent:
                return Refusal.MARKUP
            j = nxt
        last = self._pieces[j]
        if last.ref and end != last.end:
            return Refusal.NOT_TEXT
        return Placement(start, end)

    def visible_text(self, start: int = 0, end: int | None = None) -> str:
        """``text[start:end]`` with everything but text nodes blanked to spaces (same length).

        For language detection: tag names and attributes are Latin letters
        that would make a Chinese answer look English.  Only the pieces in
        the range are visited (a stream asks about the new part only).
        """
        end = len(self._text) if end is None else min(end, len(self._text))
        if start >= end:
            return ""
        out = [" "] * (end - start)
        i = max(0, bisect.bisect_right(self._starts, start) - 1)
        pieces = self._pieces
        while i < len(pieces) and pieces[i].start < end:
            piece = pieces[i]
            a, b = max(piece.start, start), min(piece.end, end)
            if a < b and self._refusal(piece.parent) is not Refusal.IN_HTML:
                out[a - start : b - start] = self._text[a:b]
            i += 1
        return "".join(out)

    def card_anchor(self, pos: int) -> int:
        """Where a card for a mention at ``pos`` goes: after its block.

        After the ``<p>`` that holds it; after the whole list, table, quote
        or figure when it is inside one (a card inside a list item would not
        be a list item); in a ``<div>`` or at the top level, before the next
        block element or the end of the container.
        """
        return self._card_anchor(pos)[0]

    def card_anchor_holder(self, pos: int) -> int | None:
        """The element whose end alone decides where a card for ``pos`` goes.

        The outermost list, table or quote holding ``pos``, else the ``<p>``
        holding it (``card_anchor``); None when a later block element may
        decide it instead.  Its index in the elements, which is the same
        in any longer text.
        """
        i = bisect.bisect_right(self._starts, pos) - 1
        index = self._pieces[i].parent if i >= 0 else -1
        chain: list[int] = []
        while index >= 0:
            chain.append(index)
            index = self._elements[index].parent
        escapes = [k for k in chain if self._elements[k].tag in _ESCAPE]
        if escapes:
            return escapes[-1]
        for k in chain:
            tag = self._elements[k].tag
            if tag == "p":
                return k
            if tag in _BLOCK:
                return None
        return None

    def card_anchor_settled(self, pos: int) -> bool:
        """Streaming: whether ``card_anchor(pos)`` is the same in any longer text.

        True when the element that decides it (the closed list, quote or
        ``<p>``, the next block element, or the closed container) comes from
        complete tokens; an element still open at the end is not.
        """
        return self._card_anchor(pos)[1]

    def _card_anchor(self, pos: int) -> tuple[int, bool]:
        i = bisect.bisect_right(self._starts, pos) - 1
        parent = self._pieces[i].parent if i >= 0 else -1
        chain = self.ancestors(parent)
        escape = [el for el in chain if el.tag in _ESCAPE]
        if escape:
            return escape[-1].end, escape[-1].settled_end
        container: _Element | None = None
        for el in chain:
            if el.tag == "p":
                return el.end, el.settled_end
            if el.tag in _BLOCK:
                container = el
                break
        limit = len(self._text) if container is None else container.content_end
        # Elements are in the order of their starts: only those after
        # ``pos`` are looked at (each card scanned them all from the first:
        # quadratic time in an answer of many ``<div>``s with a product each).
        elements = self._elements
        k = bisect.bisect_right(elements, pos, key=_element_start)
        while k < len(elements) and elements[k].start < limit:
            el = elements[k]
            k += 1
            if el.tag in _BLOCK:
                inside = container is None or any(a is container for a in self.ancestors(el.parent))
                if inside:
                    return el.start, el.settled
        return limit, container is not None and container.settled_end

    def closed_end(self, parsed: int | None = None) -> int:
        """Streaming: where the first text run that may still change starts.

        A run of text is closed once a complete tag (or comment) follows it:
        the mentions in it, their context and what may wrap them are then
        the same in any longer text.  The run that reaches ``tokenized``
        may still grow; nothing from ``tokenized`` on is parsed for good.
        ``parsed`` (``HtmlIncremental.parsed``) bounds it further: html.parser
        may still change its mind about a start tag before ``tokenized``
        (``<a x ="y>`` runs on to a later quote).
        """
        bound = self.tokenized if parsed is None else min(parsed, self.tokenized)
        end = bound
        for block in reversed(self._blocks):
            if block.end < bound:
                break
            end = min(end, block.start)
        return end

    def end_anchor(self) -> int:
        """Where an appended reference list goes: before ``</body>``, else the end.

        Only a body closed by ``</body>`` (or ``</html>``) counts.  A stray
        ``<body>`` (``<p><body><p>…``: a browser ignores it) is closed
        where something else closes it, often before the answer's text; the
        list then goes at the end, as a stream that waits at the first
        ``</body`` or ``</html`` in the text also puts it.
        """
        for el in self._elements:
            if el.tag == "body":
                if self._text[el.content_end : el.content_end + 6].lower() in _BODY_CLOSERS:
                    return el.content_end
                break
        return len(self._text)

    def trailing_list(self) -> tuple[int, int] | None:
        """The answer's own reference list: (offset before its ``</ol>``, items).

        Only an ``<ol>`` that is the last element of the answer and whose
        items each hold a link counts.
        """
        end = self.end_anchor()
        tail = self._text[:end].rstrip()
        ols = [el for el in self._elements if el.tag == "ol" and el.end == len(tail)]
        if not ols:
            return None
        ol = ols[0]
        index = self._elements.index(ol)
        items = [k for k, el in enumerate(self._elements) if el.tag == "li" and el.parent == index]
        if not items:
            return None
        for k in items:
            li = self._elements[k]
            if not any(el.tag == "a" and li.start < el.start < li.end for el in self._elements):
                return None
        return ol.content_end, len(items)


class HtmlIncremental:
    """``HtmlLayout.analyze`` for a text that grows at its end (a stream's buffer).

    ``layout(text)`` returns a layout equal in every respect to
    ``HtmlLayout.analyze(text)`` (the same elements, text pieces, blocks and
    ``tokenized``), but feeds ``html.parser`` only what was appended since the
    previous call: one ``_Scanner`` lives on, and each layout finishes a copy
    of it (``close()`` guesses at the unparsed tail and the open elements are
    closed at the end of the text; the live scanner waits for more text).
    A text that does not extend the previous one starts the analysis over.

    Feeding in parts must give what feeding the whole text at once gives,
    and ``html.parser`` differs in five places, all handled here:

    - text up to the end of the data fed is reported up to that end (it
      cannot hold a tag), so a run of text cut by a feed would arrive as two
      pieces: the next piece is joined to it (``_Scanner.join_at``);
    - ``&a-b`` at the end of the data is read as the reference ``&a``
      followed by ``-b``, but in ``&a-b;`` as the reference ``&a-b;``: the
      live scanner is not fed such a tail (``_safe_end``); the copy is;
    - a start tag with a quoted value that no quote closes ends at a ``>``
      inside that value (``<a x ="y>``) until a quote comes, however much
      later: the live scanner waits at such a tag
      (``_Scanner.check_for_whole_start_tag``), the copy parses it;
    - on a broken ``&#`` (``&#;``, ``&#x;``, ``&#12a``) with a ``;`` later,
      ``goahead`` reports ``&#`` and stops for the rest of that ``feed``; a
      whole-text feed never gets further, so nor does this one (appended text
      only joins the unparsed tail that ``close()`` guesses at);
    - an exception from the parser (``<![foo]>``) ends the parse for good:
      ``analyze`` keeps what was found before it, with ``tokenized`` 0.

    Each layout costs the new text, the part of the text the live scanner
    could not parse yet (usually an unfinished tag or reference), and
    copying the lists of elements and pieces (no Python work per item).
    After a broken ``&#``, an exception, or at such a start tag it costs
    the text from there on, as ``analyze`` does.
    """

    def __init__(self) -> None:
        self._restart()

    def _restart(self) -> None:
        self._text = ""
        self._scanner = _Scanner("")
        self._scanner.live = True
        self._fed = 0  # the live scanner has been fed ``text[:_fed]``
        self._run = 0  # where the trailing run of ``_NAME_CHARS`` in the text starts
        self._last: HtmlLayout | None = None
        # The blocks of the live scanner's pieces before ``_done``: all but
        # its last piece are final (the last one may still be joined).
        self._runs: list[Block] = []
        self._run_starts: list[int] = []  # the start of each of ``_runs``
        self._done = 0
        self._starts: list[int] = []  # where the live scanner's pieces start

    @property
    def parsed(self) -> int:
        """Where the parse of the last text stops being final; at most its ``tokenized``.

        Before it, any longer text is parsed the same: the same elements
        start there (tag, start, parent; an open element's end is not
        known yet) and the same text pieces end there.  ``tokenized`` may
        lie further: ``html.parser`` ends ``<a x ="y>`` at its ``>`` and
        reads a trailing ``&a-b`` as ``&a`` and ``-b``, but a later quote
        or ``;`` changes both.  0 before the first layout.
        """
        if self._last is None:
            return 0
        return min(self._fed - len(self._scanner.rawdata), self._last.tokenized)

    def layout(self, text: str) -> HtmlLayout:
        """The layout of ``text``; ``HtmlLayout.analyze(text)``, fed only the new text."""
        if not text.startswith(self._text):
            self._restart()
        elif self._last is not None and len(text) == len(self._last._text):
            return self._last
        if not _INCREMENTAL:
            # A full parse; the live scanner, fed the whole text afresh,
            # still tells where the parse is final (``parsed``).
            self._restart()
            self._extend(text)
            self._last = HtmlLayout.analyze(text)
            return self._last
        self._extend(text)
        self._last = self._snapshot()
        return self._last

    def advance(self, text: str) -> bool:
        """Feed the live parse ``text`` (no layout made); whether it speaks for ``text``.

        Then ``block_events`` and ``ended`` say what a layout of ``text``
        would.  Not when ``text`` does not extend the last text, on a Python
        where layouts parse afresh, or when what the live parse has not
        taken holds a ``>``: it waits at a start tag a later quote may
        still extend (``<p class="x>``), and a layout parses that tag.
        """
        if not _INCREMENTAL or not text.startswith(self._text):
            return False
        self._extend(text)
        return ">" not in self._scanner.rawdata and ">" not in text[self._fed :]

    @property
    def block_events(self) -> int:
        """How many block elements began, and elements ended, in the live parse.

        A card's place (``HtmlLayout.card_anchor_settled``) can only change
        when this does.
        """
        return self._scanner.block_events

    def ended(self, index: int) -> bool:
        """Whether the live parse has seen element ``index`` end."""
        elements = self._scanner.elements
        return index < len(elements) and elements[index].settled_end

    def _extend(self, text: str) -> None:
        live = self._scanner
        base = len(self._text)
        suffix = text[base:]
        self._text = text
        live.text = text
        live.line_starts.extend(base + m.end() for m in _NEWLINE.finditer(suffix))
        kept = len(suffix.rstrip(_NAME_CHARS))
        if kept:
            self._run = base + kept
        end = self._safe_end(text)
        if end > self._fed:
            live.feed_more(text[self._fed : end], self._fed)
            self._fed = end

    def _safe_end(self, text: str) -> int:
        """The end of the longest prefix of ``text`` whose parse the rest cannot change.

        ``goahead`` reads ``&`` + letter + ``[-.a-zA-Z0-9]*`` running to the end
        of its data by backtracking (``&a-b`` is ``&a`` then ``-b``), so a
        cut there is not final; cut before its ``&`` (and again if the text
        before it ends so too).
        """
        end = len(text)
        start = self._run
        while 0 < start < end and text[start - 1] == "&" and text[start] in _LETTERS:
            end = start - 1
            start = end
            while start > 0 and text[start - 1] in _NAME_CHARS:
                start -= 1
        return end

    def _snapshot(self) -> HtmlLayout:
        """Finish a copy of the live scanner as ``analyze`` finishes its scanner."""
        live = self._scanner
        text = self._text
        stable = len(live.pieces) - 1
        if stable > self._done:
            _extend_runs(self._runs, live.elements, live.pieces, self._done, stable)
            runs = self._runs
            self._run_starts += [b.start for b in runs[len(self._run_starts) :]]
            self._done = stable
        # A joined piece keeps its start.
        if len(self._starts) < len(live.pieces):
            self._starts += [p.start for p in live.pieces[len(self._starts) :]]
        scanner = _Scanner.__new__(_Scanner)  # a shallow copy (``copy.copy``, faster)
        scanner.__dict__.update(live.__dict__)
        scanner.live = False
        # Parsing on changes only the open elements (and adds new ones).
        elements = list(live.elements)
        for k in live.stack:
            el = elements[k]
            elements[k] = _Element(
                el.tag, el.start, el.parent, el.content_end, el.end, el.settled, el.settled_end
            )
        scanner.elements = elements
        scanner.stack = list(live.stack)
        scanner.open_tags = dict(live.open_tags)
        scanner.pieces = list(live.pieces)
        # The rest of ``analyze``: the rest of its ``feed``, then ``close``.
        scanner.feed_more(text[self._fed :], self._fed)
        scanner.settled = False
        tokenized = 0
        if not scanner.failed:
            try:
                tokenized = len(text) - len(scanner.rawdata)
                scanner.close()
            except Exception:  # as in ``analyze``
                tokenized = 0
        scanner._close(0, len(text), len(text))
        # ``analyze`` then ends any element still without an end, but there
        # is none: an element is either open (and just closed) or has its end.
        return HtmlLayout(
            text,
            scanner.elements,
            scanner.pieces,
            tokenized,
            list(self._runs),
            self._done,
            list(self._starts),
            self._run_starts,  # read, not kept
        )
