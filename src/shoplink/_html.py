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

The parser never raises on malformed HTML; if it ever did, everything from
that point on is treated as not-text, so the answer is still returned whole.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from html.parser import HTMLParser

import attrs

from ._markdown import VOID_ELEMENTS, Block, Placement, Refusal

__all__ = ["HtmlLayout"]

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
_CLOSES_P = _BLOCK - {"body", "html", "td", "th", "tr", "tbody", "thead", "tfoot", "dd", "dt"}
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
        self.pieces: list[_Text] = []
        self.settled = True  # False once ``close()`` flushes an unfinished tail

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _close(self, depth: int, at: int, end: int) -> None:
        """Close the open elements from ``stack[depth]`` inwards."""
        while len(self.stack) > depth:
            el = self.elements[self.stack.pop()]
            el.content_end, el.end = at, end
            el.settled_end = self.settled

    def _open_index(self, tags: frozenset[str], stop: frozenset[str] = frozenset()) -> int:
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
        if tag in VOID_ELEMENTS:
            el.content_end = el.end = at + len(raw)
            el.settled_end = self.settled
        else:
            self.stack.append(len(self.elements) - 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        at = self._offset()
        raw = self.get_starttag_text() or ""
        parent = self.stack[-1] if self.stack else -1
        end = at + len(raw)
        self.elements.append(_Element(tag, at, parent, end, end, self.settled, self.settled))

    def handle_endtag(self, tag: str) -> None:
        at = self._offset()
        close = self.text.find(">", at)
        end = len(self.text) if close < 0 else close + 1
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.elements[self.stack[depth]].tag == tag:
                # Elements left open inside are closed where this end tag starts.
                self._close(depth + 1, at, at)
                self._close(depth, at, end)
                return
        # A stray end tag closes nothing.

    def _add(self, start: int, end: int, ref: bool) -> None:
        if end > start:
            self.pieces.append(_Text(start, end, ref, self.stack[-1] if self.stack else -1))

    def handle_data(self, data: str) -> None:
        at = self._offset()
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


class HtmlLayout:
    """The text nodes of one HTML answer, and where links and cards may go.

    Build with ``HtmlLayout.analyze(text)``.
    """

    def __init__(
        self, text: str, elements: list[_Element], pieces: list[_Text], tokenized: int = -1
    ) -> None:
        self._text = text
        # Streaming: the source before this offset is tokenized exactly as it
        # would be in any longer text (an unfinished tag, comment, character
        # reference or raw-text element after it is still pending).
        self.tokenized = len(text) if tokenized < 0 else tokenized
        self._elements = elements
        self._pieces = pieces
        self._starts = [p.start for p in pieces]
        runs: list[Block] = []
        for piece in pieces:
            kind = "text" if self._refusal(piece.parent) is None else "other"
            if runs and runs[-1].end == piece.start and runs[-1].kind == kind:
                last = runs[-1]
                runs[-1] = Block(last.start, piece.end, kind)
            else:
                runs.append(Block(piece.start, piece.end, kind))
        self._blocks = tuple(runs)
        self._block_starts = [b.start for b in runs]

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
        except Exception:  # pragma: no cover - html.parser is lenient; stay safe if not
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
        for el in self.ancestors(parent):
            if el.tag == "a":
                return Refusal.IN_LINK
            if el.tag in _CODE:
                return Refusal.IN_CODE
            if el.tag in _HEADINGS:
                return Refusal.IN_HEADING
            if el.tag in _NO_TEXT:
                return Refusal.IN_HTML
        if parent >= 0 and self._elements[parent].tag in _TABLE_SECTIONS:
            return Refusal.NOT_TEXT  # a browser would move this text out of the table
        return None

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

    def visible_text(self) -> str:
        """``text`` with everything but text nodes blanked to spaces (same length).

        For language detection: tag names and attributes are Latin letters
        that would make a Chinese answer look English.
        """
        out = [" "] * len(self._text)
        for piece in self._pieces:
            if self._refusal(piece.parent) not in (Refusal.IN_HTML,):
                out[piece.start : piece.end] = self._text[piece.start : piece.end]
        return "".join(out)

    def card_anchor(self, pos: int) -> int:
        """Where a card for a mention at ``pos`` goes: after its block.

        After the ``<p>`` that holds it; after the whole list, table, quote
        or figure when it is inside one (a card inside a list item would not
        be a list item); in a ``<div>`` or at the top level, before the next
        block element or the end of the container.
        """
        return self._card_anchor(pos)[0]

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
        for el in self._elements:
            if pos < el.start < limit and el.tag in _BLOCK:
                inside = container is None or any(a is container for a in self.ancestors(el.parent))
                if inside:
                    return el.start, el.settled
        return limit, container is not None and container.settled_end

    def closed_end(self) -> int:
        """Streaming: where the first text run that may still change starts.

        A run of text is closed once a complete tag (or comment) follows it:
        the mentions in it, their context and what may wrap them are then
        the same in any longer text.  The run that reaches ``tokenized``
        may still grow; nothing from ``tokenized`` on is parsed for good.
        """
        end = self.tokenized
        for block in reversed(self._blocks):
            if block.end < self.tokenized:
                break
            end = min(end, block.start)
        return end

    def end_anchor(self) -> int:
        """Where an appended reference list goes: before ``</body>``, else the end."""
        for el in self._elements:
            if el.tag == "body":
                return el.content_end
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
