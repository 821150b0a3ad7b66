"""Linking while the answer streams, with the same result as linking it whole.

``LinkStream`` keeps the text fed so far (the buffer ``B``) and releases a
prefix of ``linker.link(whole_answer).text`` as soon as no later text can
change it.  It never retracts or rewrites what it has released, and it
releases every link whole (prefix, mention and suffix in one piece).

Why a prefix can be final: for a Markdown answer, what the linker decides
about a mention depends only on the query, the text before the mention and
the leaf block that holds it (choice context = the mention's block; label
language from the query or the text before the mention; caps, once per
product and spacing by position).  So once a leaf block is *closed*
(text after it proves it cannot grow or change kind), the insertions that
``link(B)`` places in it are the ones ``link(whole)`` will place.

Two release points, both in offsets of the original answer:

* ``C``, the closed end: the start of the leaf that may still change.  Only
  complete lines count; of those, a paragraph or table (or a run of link
  reference definitions, which are parsed out of a paragraph) that reaches
  the last complete line may still grow, become a setext heading, or lose
  its last line to a table header.  Every other leaf is final line by line
  (ATX headings, thematic breaks, code, HTML: their lines can never take a
  link), and a blank line closes paragraphs and tables.  Original text and
  ``link(B)``'s insertions up to ``C`` are released after each newline.
* ``R``, the safe point inside the open region ``[C, len(B))``: plain text
  before any place where an insertion could still land.  An insertion only
  ever lands at a mention, or before a run of ``*``/``_``/``~`` right before
  it (a link may wrap a whole emphasis); a mention not yet visible can start
  no earlier than ``len(B) - L`` (``L`` = the longest keyword: a folded
  keyword is never shorter than the original text it matches), and one that
  is visible stops ``R`` at its start.  Between newlines only this runs.

HTML (``format="html"``) works the same with text runs for leaf blocks:
a run is closed once a complete tag or comment follows it, and ``C`` is the
start of the run reaching the end of what ``html.parser`` has tokenized for
good (``HtmlLayout.closed_end``).

Insertions before ``C`` that are not final yet stop the release there (the
*hold*): a card whose anchor can still move (its list, quote or ``<p>`` has
not ended: ``_card_settled``), and every reference marker, whose number
continues the answer's own reference list, known only at the end.

The delay bound that follows: a character is released once the text after
it is longer than the longest keyword plus an emphasis run, unless an
unreleased mention precedes it in the same open paragraph or table, in which
case it comes out when that block closes (a blank line or the start of
another block), because the choice for the mention reads the whole block;
for cards, unless a card before it is not final (until its container ends);
for references, unless a linked mention precedes it (until the end).
Past ``_RELINK_EVERY_BREAK_UPTO`` characters, closed blocks are looked for
only once the text has grown by a sixteenth since the last look, so the
wait for a mention's block grows with a huge answer (the work stays
O(n log n) instead of quadratic).

Once nothing more can be inserted (the query trips a gate, ``max_links``
links are out with their cards settled, or a gate term has tripped before
``C``), every later chunk goes out as it comes.

The result at the end (``LinkStream.result``, ``LinkIterator.result``) is
``flush``'s re-link, which resumes from the carried decisions like every
other: its links and skips are those of ``link(whole)``, and so are its
insertions, but for card rows released earlier (a re-link leaves out rows
before what is out); those come from the insertions the stream released.

What this relies on, beyond the block contract above, is listed in
``docs/streaming.md``.
"""

from __future__ import annotations

import bisect
import codecs
import copy
import datetime as _dt
import re
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Generator,
    Iterable,
    Iterator,
)
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ._exceptions import AnswerError, StreamError
from ._html import HtmlIncremental, HtmlLayout
from ._judge import Bench, Conversation, Verdict
from ._markdown import MarkdownLayout, MarkdownScan, ScanPoint
from ._matcher import GrowingCandidates, Hit
from ._options import CallOptions, LinkOptions, turns
from ._result import Insertion, LinkResult, apply_insertions
from ._state import Carry, Snapshot
from ._styles import _CONTAINER_LINE

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "AsyncLinkIterator",
    "LinkIterator",
    "LinkStream",
    "atext_deltas",
    "chunk_text",
    "link_astream",
    "link_stream",
    "text_deltas",
]


class _Relinker(Protocol):
    """What a stream reads of its linker: a ``Linker`` is one.

    Written out so that the stream needs no import of ``_linker`` (which
    imports this module): the dependency runs one way.  The private members
    are the linker's snapshot and judges, and its resumable ``link``; a
    frozen settings value is to replace them (issue 15).
    """

    @property
    def style(self) -> str: ...

    @property
    def format(self) -> str: ...

    @property
    def reference_numbering(self) -> str: ...

    @property
    def max_links(self) -> int | None: ...

    @property
    def _snapshot(self) -> Snapshot: ...

    @property
    def _judges(self) -> Bench: ...

    def _link_from(
        self,
        text: str,
        query: str | None,
        options: CallOptions,
        carry: Carry | None,
        snap_at: int,
        scan: ScanPoint | None = None,
        upto: int | None = None,
        layout: MarkdownLayout | HtmlLayout | None = None,
        released: int | None = None,
        found: list[Hit] | None = None,
        verdicts: tuple[Verdict, ...] | None = None,
    ) -> tuple[LinkResult, Carry | None]: ...


# Leaf kinds whose lines are not final until the leaf closes.
_GROWING = ("paragraph", "table", "definition")
_EMPHASIS = "*_~"
# Where an HTML answer's body ends (or is closed with the document): an
# appended reference list goes before it.
_BODY_END = re.compile(r"</(?:body|html)", re.IGNORECASE)
_BODY_END_PREFIXES = frozenset(tag[:n] for tag in ("</body", "</html") for n in range(1, 6))
# First characters of a Markdown line that may still open a container, an
# indented block or a blank line depending on what follows on the line.
_RISKY_LINE_START = " \t>-+*0123456789"
# A line that may start a top-level Markdown block (a card held for a
# mention in a list or quote goes before one): any line that is not blank
# and does not start as ``_styles._CONTAINER_LINE`` reads a container's line
# (a list marker alone on its line counts as top-level here, so that no
# such block is missed).
_TOP_LEVEL_LINE = re.compile(r"^(?![ \t>\n]|[-+*][ \t]|[0-9]{1,9}[.)][ \t])(?=.)", re.MULTILINE)
# Up to this many characters a stream re-links at every break that may
# release a link; past it, only once the text has grown by a sixteenth
# since the last re-link.  A re-link still costs time that grows with the
# answer (copying what it carries), so a huge answer with a link in every
# paragraph would cost quadratic time; spaced out, the re-links of an
# answer of n characters cost O(n log n), and the joined output is the same.
_RELINK_EVERY_BREAK_UPTO = 100_000


class LinkStream:
    """Push-style streaming linker: ``feed`` chunks, then ``flush`` once.

    Create one per answer with ``linker.streamer(query=..., context=...)``.
    The concatenation of everything ``feed`` and ``flush`` return equals
    ``linker.link(whole_answer, query, now=..., context=...).text``, and
    after ``flush`` the ``result`` property is that ``LinkResult``, field
    for field (the receipt: links with their candidates and reasons, the
    skipped mentions and why, every insertion).

    The stream pins the linker's catalog when it is created: a
    ``linker.update`` during the stream is seen by the next stream.

    Args:
        linker: the ``Linker`` to link with.
        query: the user's question (relevance and label language).
        now: the time prices are judged fresh against (default: when the
            stream is created, UTC); as for ``Linker.link``.
        context: answer and conversation ids for the merchants' URL
            builders; as for ``Linker.link``.

    Raises:
        AnswerError: ``query`` is not text or not valid UTF-8.
        ConfigError: ``now`` or ``context`` is of the wrong type.
    """

    def __init__(
        self,
        linker: _Relinker,
        query: str | bytes | None = None,
        **options: Unpack[LinkOptions],
    ) -> None:
        given = CallOptions.of(options)
        # A shallow copy keeps the snapshot (catalog + index) of this moment:
        # ``update`` rebinds the original's snapshot, never mutates it.
        self._linker = copy.copy(linker)
        if isinstance(query, (bytes, bytearray, memoryview)):
            try:
                query = bytes(query).decode("utf-8")
            except UnicodeDecodeError:
                raise AnswerError("query is not valid UTF-8") from None
        if query is not None and not isinstance(query, str):
            raise AnswerError(f"query must be str, got {type(query).__name__}")
        self._query = query
        # One clock for the whole stream: prices are judged fresh against the
        # moment it started (or ``now=``), so a re-link never disagrees with
        # an earlier one.  Every re-link gets the same options.
        if given.now is None:
            given = attrs.evolve(given, now=_dt.datetime.now(_dt.timezone.utc))
        self._options = given
        self._html = self._linker.format == "html"
        self._style = self._linker.style
        # Markers continuing the answer's own reference list depend on its end.
        self._holds_markers = (
            self._style == "reference" and self._linker.reference_numbering == "continue"
        )
        # An HTML reference list goes before ``</body>`` (``end_anchor``), so
        # nothing from there on is released before ``flush``: the list is
        # known only at the end.
        self._list_in_body = self._html and self._style == "reference"
        self._body_end: int | None = None
        self._body_searched = 0
        matcher = self._linker._snapshot.index.matcher
        # Where blocks break: a line end in Markdown, a tag's end in HTML.
        self._break = ">" if self._html else "\n"
        # HTML only: the buffer's layouts, parsing only what was appended.
        self._html_layouts = HtmlIncremental() if self._html else None
        # Whether a mention can start before a break and end after it (only
        # if a keyword holds the character; catalogs refuse line breaks).
        self._spans_break = self._linker._snapshot.keywords_contain(self._break)
        # Original code points a hit spans are at most its folded length.
        self._longest = matcher.longest
        self._decoder: codecs.IncrementalDecoder | None = None
        self._text = ""  # B: everything fed
        self._pos = 0  # original offset released up to
        self._done_at_pos = 0  # insertions at offset _pos already released
        self._closed = 0  # C
        self._complete = 0  # len of the complete-line prefix of B
        self._line_start = 0  # just after the last break in B
        # Every keyword occurrence in B, found as B grows (each part of B is
        # scanned about once): for the safe point, and the re-links' hits.
        self._found = GrowingCandidates(matcher, None if self._spans_break else self._break)
        self._recheck = False  # insertions at C == len(B) are held back
        self._linked_at = -1  # C at the last re-link
        self._relinked_size = 0  # len(B) when the closed end was last looked for
        # Nothing may be released past this offset until a re-link says so:
        # a card whose position is not final yet, or (reference style) the
        # markers, whose numbers depend on the end of the answer.
        self._hold: int | None = None
        # Mention starts of the HTML cards that set ``_hold``; the elements
        # whose ends alone decide where some of them go (a list, quote or
        # ``<p>``); whether others may be placed by a later block element
        # instead; and the live parse's count of block events when those
        # were last looked at.
        self._unsettled: list[int] = []
        self._held_by: list[int] = []
        self._held_loose = False
        self._unsettled_events = -1
        # Markdown: when every card that set ``_hold`` is in a list or quote
        # (its row goes before the next top-level block), the offset from
        # which lines may still start one; None otherwise.
        self._top_from: int | None = None
        self._finished = False
        # Nothing more can be inserted after what was released: every text
        # fed from now on goes out as it comes.  So from the start when no
        # link may be made (``max_links=0``, or the query trips a gate: every
        # mention is then gated); once ``max_links`` links and what goes
        # with them are out (later mentions are capped).
        # The conversation's verdicts, once for the whole stream: with one,
        # no mention can take a link, and the text goes out as it comes.
        self._verdicts = self._linker._judges.conversation(
            Conversation(query or "", turns(given.history)), given.moderation
        )
        self._plain = self._linker.max_links == 0 or bool(self._verdicts)
        if self._plain:
            self._list_in_body = False  # no link, so no list either
        # What the last re-link decided for the blocks before ``C``.
        self._carry: Carry | None = None
        # Markdown: the block scan of B's complete lines, grown line by line.
        self._md: MarkdownScan | None = None
        # Every insertion released so far, in order: with the last re-link's
        # links and skips, the result (``flush``: card rows released earlier
        # are not in the last re-link's insertions).
        self._out: list[Insertion] = []
        self._result: LinkResult | None = None

    @property
    def pending(self) -> int:
        """How many characters of the answer are fed but not released yet."""
        return len(self._text) - self._pos

    @property
    def result(self) -> LinkResult:
        """The stream's ``LinkResult``, once ``flush`` has returned.

        Equal, field by field, to ``linker.link(whole_answer, query,
        now=..., context=...)``: ``text`` is everything ``feed`` and
        ``flush`` returned, joined; ``links`` carry their candidates and
        reasons, ``skipped`` every mention left unlinked and why.

        Raises:
            StreamError: ``flush`` has not returned yet.
        """
        if self._result is None:
            raise StreamError(
                "the stream's result is known only once flush() has returned "
                "(the end of the answer decides it)"
            )
        return self._result

    def feed(self, chunk: str | bytes) -> str:
        """Add the next chunk of the answer; return the text now final.

        Args:
            chunk: the next piece of the answer, cut anywhere (``bytes`` are
                decoded as UTF-8, and may split a character).

        Returns:
            The next piece of the linked answer; often ``""``.

        Raises:
            AnswerError: the chunk is not text, or not valid UTF-8.
            StreamError: the stream was already flushed (a ``RuntimeError``).
        """
        if self._finished:
            raise StreamError("feed() after flush(): start a new stream per answer")
        if type(chunk) is str and self._decoder is None:
            piece = chunk  # the usual case, without a call
        else:
            piece = self._decode(chunk, final=False)
        if not piece:
            return ""
        # Appended in place when nothing else holds the buffer (CPython
        # resizes a string only referenced once), instead of copying it at
        # every chunk.
        text = self._text
        self._text = ""
        text += piece
        self._text = text
        last = piece.rfind(self._break)
        if last >= 0:
            self._line_start = len(text) - len(piece) + last + 1
        if self._plain:
            end = self._stop(len(self._text))
            if end <= self._pos:
                return ""
            out_now = self._text[self._pos : end]
            self._pos = end
            self._done_at_pos = 0
            return out_now
        # Blocks close at a newline in Markdown, at the end of a tag in HTML.
        # The closed end costs a block scan, and a re-link more, so both are
        # only asked for when a re-link has something to decide
        # (``_relink_due``): a mention before the last break (one after it
        # is in a block that no break has closed yet, and ``_release_open``
        # releases the text before it); text with no mention goes out through
        # ``_release_open`` meanwhile, up to the last break (or, if a keyword
        # holds one, through the closed end as before).
        size = len(text)
        if (
            self._recheck
            or (
                last >= 0
                and (self._spans_break or self._relink_due(self._line_start))
            )
        ) and (
            size <= _RELINK_EVERY_BREAK_UPTO or size - self._relinked_size >= size >> 4
        ):
            self._relinked_size = size
            closed = self._release_closed()
            return closed + self._release_open() if closed else self._release_open()
        return self._release_open()

    def flush(self) -> str:
        """End the stream: return the rest of the linked answer.

        Afterwards ``result`` holds the whole ``LinkResult``.

        Raises:
            AnswerError: the bytes fed end inside a UTF-8 character.
            StreamError: ``flush`` was already called (a ``RuntimeError``).
        """
        if self._finished:
            raise StreamError("flush() called twice: start a new stream per answer")
        self._text += self._decode(b"" if self._decoder else "", final=True)
        self._finished = True
        if self._pos == len(self._text) and not self._text:
            linker = self._linker
            self._result = LinkResult("", "", (), (), (), linker.style, linker.format)
            return ""
        # HTML: the stream's layout of the final text is ``analyze``'s, made
        # from what was already parsed instead of parsing the answer again.
        layout: MarkdownLayout | HtmlLayout
        if self._html_layouts is not None:
            layout = self._html_layouts.layout(self._text)
        else:
            # The stream's block scan, grown to the whole answer.
            if self._md is None:
                self._md = MarkdownScan(self._text)
            else:
                self._md.grow(self._text)
            layout = self._md.final_layout()
        hits = None
        if not self._plain:  # (a plain stream stopped looking for mentions)
            self._found.extend(self._text)
            hits = self._found.hits_before(len(self._text))
        result = self._link(layout=layout, hits=hits)
        rest = self._release(result, len(self._text), None)
        self._result = self._receipt(result)
        return rest

    def _receipt(self, result: LinkResult) -> LinkResult:
        """``link(whole)``'s result, from the last re-link and what was released.

        The last re-link (``flush``'s, over the whole answer) carries every
        link and skip decided along the stream, and its links are complete
        (offers, numbers, ``card_at``); its insertions lack the card rows
        already released (a re-link renders none before what is out), and
        the insertions released are exactly those of ``link(whole)``.
        """
        out = tuple(self._out)
        if out == result.insertions:
            return result
        return attrs.evolve(
            result, insertions=out, text=apply_insertions(result.original, out)
        )

    # -- internals -----------------------------------------------------------

    def _decode(self, chunk: object, final: bool) -> str:
        if isinstance(chunk, str):
            if self._decoder is not None and not final:
                # Mixing is allowed; text after bytes needs no decoding.
                return self._decode(b"", final=True) + chunk
            return chunk
        if isinstance(chunk, (bytes, bytearray, memoryview)):
            if self._decoder is None:
                self._decoder = codecs.getincrementaldecoder("utf-8")()
            try:
                return self._decoder.decode(bytes(chunk), final)
            except UnicodeDecodeError:
                raise AnswerError("answer is not valid UTF-8") from None
            finally:
                if final:
                    self._decoder = None
        raise AnswerError(f"a chunk must be str or bytes, got {type(chunk).__name__}")

    def _link(
        self,
        upto: int | None = None,
        layout: MarkdownLayout | HtmlLayout | None = None,
        hits: list[Hit] | None = None,
    ) -> LinkResult:
        """``link(B)``, resuming from the blocks an earlier re-link decided.

        Blocks that ended before ``C`` are final (the module docstring), so
        their decisions, and the state later blocks read from them (caps,
        spacing, once per product and per name, language counts), carry over
        to the next re-link; only the blocks after them are linked again.
        The carry is checked against ``B`` (same hits in the same blocks,
        same gate trip, same first reference number) and dropped if it
        does not hold, and ``B`` is then linked whole.  ``hits``: the
        matcher's hits in ``B`` before ``upto`` (before its end without it),
        when the stream knows them.
        """
        result, self._carry = self._linker._link_from(
            self._text,
            self._query,
            self._options,
            self._carry,
            self._closed,
            # Only read when ``layout`` is None (cards: B's layout, made
            # again from where the scan of B's complete lines is).
            self._md.scan_point if layout is None and self._md is not None else None,
            upto,
            layout,
            self._pos,
            hits,
            self._verdicts,
        )
        return result

    def _release_closed(self) -> str:
        """Re-link ``B`` and release everything final, up to the closed end ``C``."""
        if self._holds_markers and self._hold is not None:
            return ""  # the markers wait for the end of the answer (see _final_point)
        text = self._text
        # Asked before ``C`` moves: the scan covers the open region as it was.
        first = self._scan_open()
        html: HtmlLayout | None = None
        markdown: MarkdownScan | None = None
        if self._html_layouts is not None:
            layouts = self._html_layouts
            if self._hold is not None and self._unsettled and layouts.advance(text):
                # A held card's place can only become final when the element
                # deciding it ends (its list, quote or ``<p>``), or, for a
                # card in a ``<div>`` or at the top level, when a block
                # element begins or an element ends: until the live parse
                # has seen that, no layout (and no re-link) is needed.
                if not all(layouts.ended(k) for k in self._held_by):
                    return ""  # that card is not final: nothing is released
                if self._held_loose and layouts.block_events == self._unsettled_events:
                    return ""
                self._unsettled_events = layouts.block_events
            # Parsed only for the text fed since the last time.  What
            # html.parser has tokenized is not always final (a later quote
            # can turn ``<span title ="x>`` and the text after it into one
            # tag), so ``C`` stops where the parse is final for any longer text.
            html = self._html_layouts.layout(text)
            parsed = self._html_layouts.parsed
            complete = min(html.tokenized, parsed)
            closed = max(self._closed, html.closed_end(parsed))
        else:
            complete = text.rfind("\n") + 1
            if self._hold is not None and self._top_from is not None:
                # Cards in a list or quote wait for the next top-level block:
                # until a line may start one (its first character is
                # enough), a re-link would release nothing (each line of a
                # long list would otherwise cost one).
                top = _TOP_LEVEL_LINE.search(text, self._top_from)
                if top is None:
                    self._top_from = complete
                    # The next chunk may start one without a break.
                    self._recheck = complete == len(text)
                    return ""
                self._top_from = top.start()
            end, markdown = _closed_end(text[:complete], self._md)
            self._md = markdown
            closed = max(self._closed, end)
        self._complete = complete
        if closed != self._closed:
            self._closed = closed
        if (
            html is not None
            and self._hold is not None
            and any(not html.card_anchor_settled(start) for start in self._unsettled)
        ):
            # A card that held the release back is still not where it will
            # stay (its list or paragraph goes on): a re-link would release
            # nothing past it, so it waits for the next tag.
            return ""
        held = self._recheck
        if self._hold is None and (
            closed < self._pos or (closed == self._linked_at and not held)
        ):
            # Nothing closed since the last re-link: no new final insertions.
            self._recheck = False
            return ""
        if (
            not held
            and self._hold is None
            and (first is None or first >= closed or self._all_refused(closed, html, markdown))
        ):
            # No mention that may take a link and nothing held before ``C``:
            # ``link(B)`` would insert nothing there, so the text is final
            # as it is.
            self._recheck = False
            end = self._stop(closed)
            piece = text[self._pos : end] if end > self._pos else ""
            if piece:
                self._pos = end
                self._done_at_pos = 0
            return piece
        self._recheck = closed == len(text)
        self._linked_at = closed
        # Mentions from ``C`` on sit in blocks still open: nothing of theirs
        # is released now, so they are not decided now either.
        # The layout made for ``C`` serves the re-link too: HTML's is of B
        # itself; Markdown's is of B's complete lines, the same blocks before
        # ``C``, but cards are anchored by what follows, so they need B's.
        layout: HtmlLayout | MarkdownLayout | None = html
        if markdown is not None and self._style != "card":
            layout = markdown.layout()
        result = self._link(closed, layout, self._hits_before(closed))
        upto, keep = self._final_point(result, closed, html, markdown)
        stop = self._stop(upto)
        if stop < upto:
            upto, keep = stop, 0
        if upto < self._pos:
            return ""
        released = self._release(result, upto, keep)
        if not self._holds_markers and self._nothing_more(result, closed):
            # Once every insertion made so far is out (no card held: each
            # card row is where it stays), the rest of the answer is final
            # until the end (where ``flush`` adds the reference list).
            last = result.insertions[-1].at if result.insertions else -1
            self._plain = self._hold is None and (
                last < self._pos
                or (last == self._pos and self._done_at_pos == _count_at(result, last))
            )
        return released

    def _nothing_more(self, result: LinkResult, closed: int) -> bool:
        """Whether no mention from ``closed`` on can be linked, whatever follows.

        So when ``max_links`` links are made (later mentions are capped), or
        when a gate term tripped before ``closed``: a mention is gated when
        the answer's first trip ends before its block does, and the text
        that follows can only hold later trips.  The term's occurrence must
        be final (it ends before the end of the text) and a term, not a
        pattern (a pattern's match may change as the text grows).
        """
        max_links = self._linker.max_links
        if max_links is not None and len(result.links) >= max_links:
            return True
        trip = self._carry.first_trip if self._carry is not None else None
        return (
            trip is not None
            and not trip.term.startswith("re:")
            and trip.end <= closed
            and trip.end < len(self._text)
        )

    def _all_refused(
        self, closed: int, html: HtmlLayout | None, markdown: MarkdownScan | None
    ) -> bool:
        """Whether no mention before ``closed`` not released yet can take a link.

        So ``link(B)`` inserts nothing there and no re-link is needed.  A
        mention takes none, whatever else is decided about it:

        * where no link may go: in code, HTML, a heading and the like (a
          long code block full of product names would otherwise cost a
          re-link at every line);
        * when its name already carries a link (a name links once per
          answer): the names linked before the last re-link's closed end
          are linked before this mention too.  A long list naming the same
          products on every line would otherwise cost a re-link per line,
          each copying what the ones before decided.

        The mentions are the hits when those are final at ``closed``
        (``_hits_before``), else every occurrence.  Those let through are
        decided by the next re-link (or ``flush``), from the last carry.
        """
        if self._spans_break:
            return False
        found = self._found
        found.extend(self._text)
        linked = self._carry.linked_keys if self._carry is not None else frozenset()
        mentions: Iterable[tuple[int, int, int]]
        if self._hits_final_at(closed):
            # An occurrence inside a longer one (``面膜`` in ``玉泽面膜``)
            # is no mention.
            mentions = (
                (hit.start, hit.end, hit.key) for hit in found.hits_between(self._pos, closed)
            )
        else:
            mentions = ((at, -end, key) for at, end, key in found.between(self._pos, closed))
        for at, end, key in mentions:
            if key in linked:
                continue
            if html is not None:
                if html.refusal(at, end) is None:
                    return False
            elif markdown is None or not markdown.refused_at(at):
                return False
        return True

    def _hits_before(self, closed: int) -> list[Hit] | None:
        """The matcher's hits in ``B`` starting before ``closed``, if final there.

        They are when the character before ``closed`` is a break no keyword
        holds (so no occurrence reaches ``closed`` from before it); None
        otherwise (the re-link then finds them itself).
        """
        if not self._hits_final_at(closed):
            return None
        self._found.extend(self._text)
        return self._found.hits_before(closed)

    def _hits_final_at(self, closed: int) -> bool:
        """Whether the hits starting before ``closed`` are final (see ``_hits_before``)."""
        if closed == 0:
            return True
        before = self._text[closed - 1]
        return before in "\n>" and not self._linker._snapshot.keywords_contain(before)

    def _final_point(
        self,
        result: LinkResult,
        closed: int,
        html: HtmlLayout | None,
        markdown: MarkdownScan | None,
    ) -> tuple[int, int]:
        """How far ``link(B)`` is final: (offset, insertions at it that are).

        Sets ``_hold`` when something before ``C`` is not final yet.
        """
        text = self._text
        self._hold = None
        self._unsettled = []
        self._held_by = []
        self._held_loose = False
        top_from, self._top_from = self._top_from, None
        if self._holds_markers:
            # The first marker's number is 1 + the size of the answer's own
            # reference list, and that list must END the answer: from the
            # first linked mention on, everything waits for ``flush``.
            if result.links and result.links[0].wrap_start < closed:
                self._hold = result.links[0].wrap_start
                return self._hold, 0
            return closed, 0
        if self._style == "card":
            # A card's position can still move until the container holding
            # its mention has ended; text past its lower bound (the end of
            # the mention's block) waits until then.
            bound = closed
            final_rows: set[int] = set()
            in_containers = True
            for link in result.links:
                if link.start >= closed:
                    break  # an open block: its card comes after C
                at = link.card_at if link.card_at is not None else len(text)
                if at < self._pos:
                    continue  # its row is out
                if self._card_settled(at, link.start, closed, html):
                    final_rows.add(at)
                else:
                    layout = html if html is not None else markdown.layout() if markdown else None
                    block = layout.block_at(link.start) if layout is not None else None
                    low = block.end if block is not None else link.end
                    bound = min(bound, low)
                    self._hold = bound
                    self._unsettled.append(link.start)
                    in_containers = (
                        in_containers
                        and block is not None
                        and _CONTAINER_LINE.match(text, block.start) is not None
                    )
            if self._hold is not None:
                if html is not None and self._html_layouts is not None:
                    holders = [html.card_anchor_holder(start) for start in self._unsettled]
                    self._held_by = [k for k in holders if k is not None]
                    self._held_loose = len(self._held_by) < len(holders)
                    # The layout just read saw every block event so far.
                    self._unsettled_events = self._html_layouts.block_events
                if html is None and in_containers:
                    # Lines before ``top_from`` were looked at: none may
                    # start a top-level block.
                    self._top_from = max(bound, top_from or 0)
                # A row that a pending card might still join is not final.
                return bound, 0
            keep = 1 if closed in final_rows and closed < len(text) else 0
            return closed, keep
        # inline
        if self._html or closed >= len(text):
            # HTML: a closed run's link ends before the tag after it.  At the
            # very end nothing may go out early.
            return closed, 0
        # Markdown: at ``C`` only the prefix of a link opening the next
        # block can sit, and that block is open.
        opening = sum(
            1 for link in result.links if link.start >= closed and link.wrap_start == closed
        )
        return closed, _count_at(result, closed) - opening

    def _card_settled(self, at: int, start: int, closed: int, html: HtmlLayout | None) -> bool:
        """Whether a card anchored at ``at`` (by ``link(B)``) is where ``link(whole)`` puts it."""
        text = self._text
        if at >= len(text) or at > closed:
            return False
        if html is not None:
            return html.card_anchor_settled(start)
        # Markdown: the card goes before a block starting at ``at``; blocks
        # before ``C`` are final, and so is the block starting at ``C`` once
        # its first character shows it starts a top-level block.
        first = text[at]
        if first not in _RISKY_LINE_START and not first.isspace():
            return True
        newline = text.find("\n", at)
        # "-" at the very end of the text would read as an empty list item.
        return 0 <= newline < len(text) - 1 and newline < self._complete

    def _release_open(self) -> str:
        """Release plain text of the open region up to the safe point ``R``."""
        if self._hold is not None or self._pos < self._closed:
            return ""  # a card or marker before the open region is not final yet
        text = self._text
        size = len(text)
        limit = size - self._longest
        if not self._spans_break:
            # No mention can cross a break: one not visible yet starts after
            # the last one.
            limit = max(limit, self._line_start)
        if limit <= self._pos:
            return ""  # what follows can only lower it (the start of a line, say)
        found = self._found
        # A mention at or before the released point stops ``R`` there, and
        # so does one right after an emphasis run there (a link may wrap
        # the run): nothing to release, and no need to look at the new text
        # (a mention found there would start after what is released).
        reach = self._pos
        while reach < size and text[reach] in _EMPHASIS:
            reach += 1
        if found.lasting_in(self._closed, reach):
            return ""
        first = found.first_before(self._closed, limit, text)
        if first is not None:
            limit = first
        limit = max(limit, self._closed)
        # A link may wrap the emphasis right before the mention.
        while limit > self._closed and text[limit - 1] in _EMPHASIS:
            limit -= 1
        if self._list_in_body:
            limit = self._stop(limit)
        if limit <= self._pos:
            return ""
        piece = text[self._pos : limit]
        self._pos = limit
        self._done_at_pos = 0
        return piece

    def _stop(self, upto: int) -> int:
        """``upto``, or where an HTML reference list may go at the end if that is before it."""
        if not self._list_in_body:
            return upto
        if self._body_end is None:
            text = self._text
            # ``</html`` is 6 characters: a match may begin 5 before the end.
            found = _BODY_END.search(text, max(0, self._body_searched - 5))
            self._body_searched = len(text)
            if found is not None:
                self._body_end = found.start()
            else:
                # The text may end inside one: it waits for the next chunk.
                tail = text.rfind("<", max(0, len(text) - 5))
                if tail >= 0 and text[tail:].lower() in _BODY_END_PREFIXES:
                    return min(upto, tail)
        return upto if self._body_end is None else min(upto, self._body_end)

    def _relink_due(self, upto: int) -> bool:
        """Whether a re-link could insert something before ``upto``.

        Yes when a card or marker is held, or a visible mention starts
        before ``upto`` in the open region; every insertion of the inline
        and reference forms lands at a mention, and a card's only away from
        one while it is held.
        """
        if self._hold is not None:
            return True
        return self._found.first_before(self._closed, upto, self._text) is not None

    def _scan_open(self) -> int | None:
        """The first visible mention in the open region ``[C, len(B))``, if any.

        Only the text fed since the last look is scanned (with a margin:
        ``GrowingCandidates``).
        """
        return self._found.first_before(self._closed, len(self._text) + 1, self._text)

    def _release(self, result: LinkResult, upto: int, keep: int | None) -> str:
        """Release original text ``[pos, upto)`` with its insertions.

        ``keep`` is how many of the insertions at ``upto`` itself go out
        (None: all of them).
        """
        pos, text = self._pos, result.original
        inserts = result.insertions
        i = bisect.bisect_left(inserts, pos, key=_insertion_at) + self._done_at_pos
        out: list[str] = []
        cursor = pos
        at_upto = self._done_at_pos if upto == pos else 0
        while i < len(inserts):
            ins = inserts[i]
            if ins.at > upto:
                break
            if ins.at == upto:
                if keep is not None and at_upto >= keep:
                    break
                at_upto += 1
            out.append(text[cursor : ins.at])
            out.append(ins.text)
            self._out.append(ins)
            cursor = ins.at
            i += 1
        out.append(text[cursor:upto])
        if upto > pos:
            self._pos = upto
            self._done_at_pos = at_upto
        else:
            self._done_at_pos = max(self._done_at_pos, at_upto)
        return "".join(out)


def _insertion_at(insertion: Insertion) -> int:
    return insertion.at


def _count_at(result: LinkResult, at: int) -> int:
    inserts = result.insertions
    return bisect.bisect_right(inserts, at, key=_insertion_at) - bisect.bisect_left(
        inserts, at, key=_insertion_at
    )


def _closed_end(
    complete: str, scan: MarkdownScan | None = None
) -> tuple[int, MarkdownScan | None]:
    """The closed end ``C`` of a text made of complete lines, and its block scan.

    ``scan``: the scan of a prefix of ``complete`` made of complete lines,
    grown to ``complete`` (and returned); a new one without it.

    The start of the trailing paragraph/table (with any definitions parsed
    out of the same leaf) when it reaches the end of the text; otherwise the
    end of the text.  Read off the scan before its open leaf is closed:
    closing a long paragraph or table at every line would cost its length
    each time.
    """
    size = len(complete)
    if not size:
        return 0, scan
    if scan is None:
        scan = MarkdownScan(complete)
    else:
        scan.grow(complete)
    blocks = scan.blocks
    open_leaf = scan.open_leaf
    if open_leaf is not None:
        kind, start = open_leaf
        if kind not in _GROWING:
            return size, scan  # code and HTML lines are final line by line
        j = len(blocks) - 1
    else:
        i = len(blocks) - 1
        while i >= 0 and blocks[i].kind == "blank":
            i -= 1
        if i < 0:
            return size, scan
        last = blocks[i]
        if i < len(blocks) - 1:
            # Blank lines follow the last leaf: they close paragraphs and
            # tables, and the lines of every other kind are final line by line.
            return size, scan
        if last.kind not in _GROWING:
            return (last.end if last.end < size else size), scan
        start = last.start
        j = i - 1
    # Definitions are parsed out of the start of the same paragraph leaf.
    while j >= 0 and blocks[j].kind == "definition" and blocks[j].end == start:
        start = blocks[j].start
        j -= 1
    return start, scan


class LinkIterator(Iterator[str]):
    """What ``Linker.stream`` returns: the linked answer piece by piece, then its result.

    Iterate it as any iterator of text; once it is exhausted, ``result`` is
    the ``LinkResult`` that ``linker.link(whole_answer, query, now=...,
    context=...)`` gives::

        pieces = linker.stream(chunks, query=q, context=ctx)
        for piece in pieces:
            send(piece)
        log(pieces.result.to_dict())
    """

    def __init__(self, stream: LinkStream, chunks: Iterable[str | bytes]) -> None:
        self._stream = stream
        self._pieces = _pieces(stream, chunks)

    def __iter__(self) -> LinkIterator:
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        """Stop early (as a generator's ``close``); there is then no ``result``."""
        self._pieces.close()

    @property
    def result(self) -> LinkResult:
        """The ``LinkResult`` of the whole answer, once iteration has ended.

        Raises:
            StreamError: the iteration has not reached the end of the answer.
        """
        return _result_at_end(self._stream)


class AsyncLinkIterator(AsyncIterator[str]):
    """What ``Linker.astream`` returns: ``LinkIterator`` for ``async for``.

    Once the iteration has ended, ``result`` is the whole answer's
    ``LinkResult``::

        pieces = linker.astream(chunks, query=q, context=ctx)
        async for piece in pieces:
            await send(piece)
        log(pieces.result.to_dict())
    """

    def __init__(self, stream: LinkStream, chunks: AsyncIterable[str | bytes]) -> None:
        self._stream = stream
        self._pieces = _apieces(stream, chunks)

    def __aiter__(self) -> AsyncLinkIterator:
        return self

    async def __anext__(self) -> str:
        return await self._pieces.__anext__()

    async def aclose(self) -> None:
        """Stop early (as an async generator's ``aclose``); there is then no ``result``."""
        await self._pieces.aclose()

    @property
    def result(self) -> LinkResult:
        """The ``LinkResult`` of the whole answer, once iteration has ended.

        Raises:
            StreamError: the iteration has not reached the end of the answer.
        """
        return _result_at_end(self._stream)


def _result_at_end(stream: LinkStream) -> LinkResult:
    if stream._result is None:
        raise StreamError(
            "the stream's result is known only once the iteration has ended "
            "(the end of the answer decides it)"
        )
    return stream._result


def _pieces(stream: LinkStream, chunks: Iterable[str | bytes]) -> Generator[str, None, None]:
    for chunk in chunks:
        piece = stream.feed(chunk)
        if piece:
            yield piece
    piece = stream.flush()
    if piece:
        yield piece


async def _apieces(
    stream: LinkStream, chunks: AsyncIterable[str | bytes]
) -> AsyncGenerator[str, None]:
    async for chunk in chunks:
        piece = stream.feed(chunk)
        if piece:
            yield piece
    piece = stream.flush()
    if piece:
        yield piece


def link_stream(
    linker: _Relinker,
    chunks: Iterable[str | bytes],
    query: str | bytes | None = None,
    **options: Unpack[LinkOptions],
) -> LinkIterator:
    """The linked answer piece by piece as ``chunks`` arrive (``Linker.stream``).

    Raises:
        AnswerError: ``query`` is not text (at once); a chunk is not text
            (while iterating).
        ConfigError: ``now`` or ``context`` is of the wrong type.
    """
    return LinkIterator(LinkStream(linker, query, **options), chunks)


def link_astream(
    linker: _Relinker,
    chunks: AsyncIterable[str | bytes],
    query: str | bytes | None = None,
    **options: Unpack[LinkOptions],
) -> AsyncLinkIterator:
    """Async ``link_stream`` (``Linker.astream``)."""
    return AsyncLinkIterator(LinkStream(linker, query, **options), chunks)


# -- chunk objects of LLM clients ------------------------------------------------


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def chunk_text(chunk: object) -> str:
    """The answer text carried by one streamed chunk of a common LLM client.

    Duck-typed (plain dicts parsed from the wire work too), with no import of
    any client library:

    * OpenAI Chat Completions chunks: ``chunk.choices[i].delta.content`` of
      the choice with ``index`` 0 (``None`` and empty ``choices``, as in the
      final usage chunk, give ``""``).
    * OpenAI Responses events: ``type == "response.output_text.delta"``
      gives ``event.delta``; every other event gives ``""``.
    * Anthropic Messages events: ``type == "content_block_delta"`` with
      ``delta.type == "text_delta"`` gives ``delta.text``; other events
      (thinking, tool input, message start/stop) give ``""``.
    * ``str`` chunks are returned as they are (``anthropic``'s
      ``text_stream`` and most frameworks already yield text).

    Raises:
        TypeError: ``chunk`` is none of these.
    """
    if isinstance(chunk, str):
        return chunk
    choices = _field(chunk, "choices")
    if choices is not None:
        for choice in choices:
            index = _field(choice, "index")
            if index not in (None, 0):
                continue
            delta = _field(choice, "delta")
            content = _field(delta, "content") if delta is not None else None
            return content if isinstance(content, str) else ""
        return ""
    kind = _field(chunk, "type")
    if isinstance(kind, str):
        if kind == "response.output_text.delta":
            delta = _field(chunk, "delta")
            return delta if isinstance(delta, str) else ""
        if kind == "content_block_delta":
            delta = _field(chunk, "delta")
            if delta is not None and _field(delta, "type") == "text_delta":
                text = _field(delta, "text")
                return text if isinstance(text, str) else ""
        return ""
    raise TypeError(
        f"not a known LLM stream chunk: {type(chunk).__name__} "
        "(expected an OpenAI chat chunk, an OpenAI Responses event, an Anthropic event or str)"
    )


def text_deltas(chunks: Iterable[object]) -> Iterator[str]:
    """The answer text of a stream of LLM client chunks (see ``chunk_text``).

    Chunks that carry no text are skipped, so the result can be passed
    straight to ``Linker.stream``.

    Raises:
        TypeError: a chunk is of no known kind.
    """
    for chunk in chunks:
        text = chunk_text(chunk)
        if text:
            yield text


async def atext_deltas(chunks: AsyncIterable[object]) -> AsyncIterator[str]:
    """Async ``text_deltas``: for ``AsyncOpenAI`` and ``AsyncAnthropic`` streams.

    Raises:
        TypeError: a chunk is of no known kind.
    """
    async for chunk in chunks:
        text = chunk_text(chunk)
        if text:
            yield text
