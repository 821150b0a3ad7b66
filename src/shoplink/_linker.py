"""The ``Linker`` facade: catalog in, linked answer out.

The pipeline, each stage a plain value handed to the next::

    answer ──► ProductIndex.find ──► hits (keyword occurrences, leftmost-longest)
           ──► MarkdownLayout/HtmlLayout.place ──► may a link go here, and where
           ──► rank.choose ──► which product (relevance only)
           ──► Form.mention ──► markup around the mention (link, marker or none)
           ──► Form.finish ──► card rows / reference list from the plan of links
           ──► LinkResult (insertions on the untouched answer)

The linker holds one immutable snapshot (catalog + index).  ``update``
swaps it in a single assignment, so a call that is running keeps the
snapshot it started with and never sees half of each.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import functools
import os
import re
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

import attrs

from ._catalog import Catalog
from ._exceptions import ConfigError, LinkError
from ._html import HtmlLayout
from ._index import ProductIndex
from ._judge import AnswerCheck, Bench, Conversation, Gate, RuleJudge, Verdict, default_gates
from ._judge._advice import advice_in_block
from ._labels import (
    count_scripts,
    detect_language,
    language_of_counts,
    resolve_label,
    validate_label,
)
from ._links import LinkContext
from ._log import log_decisions
from ._markdown import Block, MarkdownLayout, Placement, ScanPoint
from ._matcher import Hit
from ._model import RelevanceProfile
from ._offers import DEFAULT_PRICE_MAX_AGE, Offer
from ._options import CallOptions, HistoryOption, LinkOptions, as_text, turns
from ._rank import (
    POLICY_VERSION,
    Choice,
    Evidence,
    choose,
    sentence_ends,
    sentence_span,
)
from ._render import TemplateSource
from ._result import (
    Candidate,
    Insertion,
    Link,
    LinkResult,
    Skip,
    SkipReason,
    apply_insertions,
)
from ._state import Accepted, Carry, Snapshot
from ._stream import AsyncLinkIterator, LinkIterator, LinkStream, link_astream, link_stream
from ._styles import Form
from ._urls import href_of

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["DEFAULT_MAX_LINKS", "DEFAULT_MIN_GAP", "GatesOption", "Linker"]

#: Default cap on links per answer.  A recommendation answer typically names
#: three to five products; beyond five, links stop helping a reader choose
#: and start to make the answer read like an advertisement.
DEFAULT_MAX_LINKS = 5

#: Default minimum distance, in characters of the answer, from the end of
#: one linked mention to the start of the next.  Ten characters is about one
#: short Chinese clause or two English words: links closer than that read as
#: a strip of ads (a table header "| iPhone 16 | 小米15 |", a list "A、B、C")
#: and are hard to tell apart or tap on a phone.
DEFAULT_MIN_GAP = 10

# A sentence end between two mentions: ``min_gap`` does not reach across
# it.  The gap stops ad strips within a sentence (甲、乙、丙, a table
# header); two sentences that each name a product are not a strip.  Line
# breaks do not count: list items and table rows are where strips are.
_SENTENCE_BREAK = re.compile(r"[。！？!?]|\.(?=\s)")

#: What ``Linker(gates=...)`` accepts: gates, or paths to term files, or None.
GatesOption = Iterable["Gate | str | os.PathLike[str]"] | None


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


_DEFAULT_GATES = _Default()

STYLES = ("inline", "card", "reference")
FORMATS = ("markdown", "html")

# The evidence of a query, computed once per distinct query (a stream
# re-links with the same query many times; a server sees repeats too).
_query_evidence = functools.lru_cache(maxsize=256)(Evidence.of)
_query_language = functools.lru_cache(maxsize=256)(detect_language)


@functools.lru_cache(maxsize=8)
def _plain_context(style: str) -> LinkContext:
    """The link context of a ``link`` call given none (frozen: shared)."""
    return LinkContext(style=style)

# How far on each side of a mention its sentence is read for the label's
# language (a sentence is rarely longer; an endless one costs no more).
_LABEL_WINDOW = 200

# How far around a mention to look for context when no block is known.
_CONTEXT_WINDOW = 300


class Linker:
    """Attach shopping links to the products an answer names.

    Args:
        catalog: the products to link to.
        style: ``"inline"`` (the product name becomes a link), ``"card"``
            (a card with picture, price, shop and link after the block that
            names the product; the name itself stays plain text) or
            ``"reference"`` (a numbered marker after the name and a list of
            shopping references at the end).
        format: ``"markdown"`` or ``"html"`` (the answer is already HTML;
            only text nodes are touched).
        label: the visible disclosure: ``"auto"`` (default: 广告 for Chinese
            answers, Sponsored otherwise), ``"cn"``, ``"us"``, any short
            text, or None to leave it to the front end.
        max_links: at most this many links per answer (default 5); None for
            no cap.
        min_gap: at least this many characters between two inline links
            in one sentence (default 10; 0 for none); a sentence end between
            them lifts it.
        gates: the term lists of the built-in judge (``RuleJudge``).
            Default: ``default_gates()`` (medical, self-harm, minors,
            refusals; drug, medical-device, health-food and tobacco
            products).  Pass ``Gate`` objects and/or paths of term files to
            use instead (add ``*shoplink.default_gates()`` to keep the
            built-in ones); None or ``()`` turns the built-in judge off.
        judges: the judges to consult, replacing the built-in one: objects
            with ``judge_conversation``, ``judge_answer`` and/or
            ``judge_product`` (``ConversationJudge``, ``AnswerJudge``,
            ``ProductJudge``).  Include ``shoplink.RuleJudge()`` to keep
            the built-in judge beside your own.  Default: the built-in
            judge with ``gates``.
        allow_regulated: product categories cleared for linking, from
            ``REGULATED_CATEGORIES`` (``"drug"``, ``"medical_device"``,
            ``"health_food"``, ``"tobacco"``); default none: products in
            those categories are never linked, since advertising them is
            regulated.
        templates: a folder or Jinja loader with templates overriding the
            built-in ones (any subset, by name: ``inline.md.j2``,
            ``card.html.j2``, ``reference_list.md.j2``, ...).
        price_max_age: prices checked longer ago than this are left out
            of cards and references (default 7 days); None shows every price.
        reference_numbering: ``"continue"`` (default): shopping references
            are numbered after the answer's own trailing reference list and
            appended to it, so a stream must hold the text after the first
            marker until the answer ends (only then is that list known);
            ``"separate"``: they start at 1 in a list of their own, and a
            stream releases markers as their blocks close.
        index: a prebuilt ``ProductIndex`` for ``catalog``, or the path of
            an index file (``shoplink index build``; load only files you
            trust); None (default) builds the index here.

    Raises:
        ConfigError: an argument has an invalid value, or a template is
            broken.
        IndexFileError: the index file does not fit ``catalog`` or is corrupt.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        style: str = "inline",
        format: str = "markdown",
        label: str | None = "auto",
        max_links: int | None = DEFAULT_MAX_LINKS,
        templates: TemplateSource = None,
        min_gap: int = DEFAULT_MIN_GAP,
        gates: GatesOption | _Default = _DEFAULT_GATES,
        judges: Iterable[object] | _Default = _DEFAULT_GATES,
        allow_regulated: Iterable[str] = (),
        price_max_age: _dt.timedelta | None = DEFAULT_PRICE_MAX_AGE,
        reference_numbering: str = "continue",
        index: ProductIndex | str | os.PathLike[str] | None = None,
    ) -> None:
        if style not in STYLES:
            raise ConfigError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
        if format not in FORMATS:
            raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
        if price_max_age is not None and (
            not isinstance(price_max_age, _dt.timedelta) or price_max_age < _dt.timedelta(0)
        ):
            raise ConfigError(
                f"price_max_age must be a non-negative timedelta or None, got {price_max_age!r}"
            )
        if max_links is not None and (
            isinstance(max_links, bool) or not isinstance(max_links, int) or max_links < 0
        ):
            raise ConfigError(
                f"max_links must be a non-negative integer or None, got {max_links!r}"
            )
        if isinstance(min_gap, bool) or not isinstance(min_gap, int) or min_gap < 0:
            raise ConfigError(f"min_gap must be a non-negative integer, got {min_gap!r}")
        if not isinstance(catalog, Catalog):
            raise ConfigError(f"catalog must be a shoplink Catalog, got {type(catalog).__name__}")
        self.min_gap = min_gap
        if isinstance(judges, _Default):
            gate_list = _gate_list(gates)
            judges = [RuleJudge(gate_list)] if gate_list else []
        elif not isinstance(gates, _Default):
            raise ConfigError("pass gates= or judges=, not both (RuleJudge(gates) is a judge)")
        if isinstance(allow_regulated, str):
            allow_regulated = (allow_regulated,)
        self._judges = Bench(list(judges), allow_regulated)
        self.style = style
        self.format = format
        self.label = validate_label(label)
        self.max_links = max_links
        if reference_numbering not in ("continue", "separate"):
            raise ConfigError(
                f"reference_numbering must be 'continue' or 'separate', got {reference_numbering!r}"
            )
        self.price_max_age = price_max_age
        self.reference_numbering = reference_numbering
        self._renderer = Form(style, format, templates, reference_numbering)
        self._snapshot = Snapshot(catalog, _index_for(catalog, index))

    @property
    def gates(self) -> tuple[Gate, ...]:
        """The gates of the built-in judge in force (empty when it is off)."""
        return self._judges.gates

    @property
    def judges(self) -> tuple[object, ...]:
        """The judges consulted (empty when judgement is off)."""
        return self._judges.judges

    def judge_conversation(
        self,
        query: str | None = None,
        *,
        history: HistoryOption = None,
        moderation: object = None,
    ) -> tuple[Verdict, ...]:
        """The verdicts on a conversation: why its answer would carry no links.

        Empty when links may appear.  ``link`` asks the same (and records
        the verdicts in ``LinkResult.verdicts``); ask directly to decide
        before the answer exists, e.g. whether to show shopping at all.

        Raises:
            AnswerError: the query or a turn is not text.
            ConfigError: ``moderation`` is in no shape understood.
        """
        query_text = as_text(query, "query") if query is not None else ""
        return self._judges.conversation(Conversation(query_text, turns(history)), moderation)

    @property
    def catalog(self) -> Catalog:
        """The catalog the linker currently links to."""
        return self._snapshot.catalog

    def update(self, catalog: Catalog) -> None:
        """Switch to a new catalog.

        The new index is built first, then swapped in with one assignment:
        calls already running finish on the old catalog, later calls use the
        new one, and no call ever sees a mix.
        """
        if not isinstance(catalog, Catalog):
            raise ConfigError(f"catalog must be a shoplink Catalog, got {type(catalog).__name__}")
        self._snapshot = Snapshot(catalog, ProductIndex(catalog))

    def link(
        self,
        answer: str | bytes,
        query: str | None = None,
        *,
        now: _dt.datetime | None = None,
        context: LinkContext | None = None,
        history: HistoryOption = None,
        moderation: object = None,
    ) -> LinkResult:
        """Link the products that ``answer`` names.

        Args:
            answer: the assistant's answer (Markdown text; UTF-8 bytes are
                accepted and decoded).
            query: the user's question, used for relevance and for the
                label language.
            now: the time prices are judged fresh against (default: the
                current time, UTC).
            context: answer and conversation ids for the merchants' URL
                builders (tracking); position and style are filled in.
            history: the conversation's earlier turns, oldest first
            (``HistoryOption``): judged like the query (a user who said
                earlier that they are 15 is still 15).
            moderation: an upstream moderation result for this
                conversation (OpenAI's or Azure's, or a set of flags; see
                ``docs/safety.md``): any flagged category blocks every link.

        Returns:
            A ``LinkResult``.  Its ``text`` is ``answer`` with link markup
            inserted; nothing of ``answer`` is changed or removed.  Its
            ``verdicts`` say why links were blocked, if they were.

        Raises:
            AnswerError: ``answer`` is not text or not valid UTF-8.
            ConfigError: ``moderation`` is in no shape understood.
        """
        text = as_text(answer, "answer")
        query_text = as_text(query, "query") if query is not None else ""
        verdicts = self._judges.conversation(
            Conversation(query_text, turns(history)), moderation
        )
        snap = self._snapshot
        index = snap.index
        hits = index.find(text)
        if not hits:
            return LinkResult(
                text, text, (), (), (), self.style, self.format, verdicts=verdicts
            )
        moment = now if now is not None else _dt.datetime.now(_dt.timezone.utc)
        result = _Run(
            self, snap, text, query_text, moment, context, verdicts=verdicts
        ).execute(hits)
        log_decisions(result)
        return result

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
    ) -> tuple[LinkResult, Carry | None]:
        """``link(text, query, **options)``, resuming from ``carry`` (for ``LinkStream``).

        ``options``: the stream's per-call options, its ``now`` set (the
        stream's clock).  ``carry`` is what an earlier call on a prefix of
        ``text`` returned, with the same linker and options (a stream pins
        both; a carry for another ``now`` is dropped):
        the decisions and output for the hits of the blocks that ended
        before its ``snap_at``.  They are reused when the hits and blocks
        there are still the same (checked; otherwise everything is linked
        again).  ``scan``: a Markdown scan point of a prefix of ``text``
        (the stream's own, often later than the carry's).  ``upto``: only
        mentions starting before it are decided; the result then equals
        ``link``'s before ``upto`` only (enough for a stream, which releases
        no further), and saves deciding the open block again at every
        re-link.  Its insertions are those of ``link`` before ``upto`` but,
        except for cards, its ``text`` is ``text`` itself: the stream
        applies the insertions as it releases them.  ``layout``: the
        stream's own layout of ``text`` (HTML), or
        of a prefix of it made of complete lines (Markdown), whose blocks
        before ``upto`` are those of ``text``; used instead of analyzing
        ``text`` again.  ``released``: the stream has released the text
        before it; card rows anchored there are left out of the result.
        ``found``: ``index.find(text)``'s hits before ``upto`` (all of them
        without it), when the stream already knows them.
        Returns the result and the carry for the blocks ending at or before
        ``snap_at`` in ``text``.
        """
        query_text = as_text(query, "query") if query is not None else ""
        if verdicts is None:
            verdicts = self._judges.conversation(Conversation(query_text))
        snap = self._snapshot
        now = options.now if options.now is not None else _dt.datetime.now(_dt.timezone.utc)
        if carry is not None and (
            not text.startswith(carry.text) or carry.query != query_text or carry.now != now
        ):
            carry = None  # not made for a prefix of this answer: nothing carries over
        hits = found if found is not None else _find_after(snap, text, carry)
        if upto is not None:
            hits = hits[: bisect.bisect_left(hits, upto, key=lambda h: h.start)]
        if not hits:
            return LinkResult(
                text, text, (), (), (), self.style, self.format, verdicts=verdicts
            ), carry
        # The answer's judges, asked along the stream on the new text only.
        growing = carry.answer_check if carry is not None else self._judges.answer_check()
        run = _Run(
            self, snap, text, query_text, now, options.context,
            carry, scan, layout, growing, released, verdicts=verdicts,
        )  # fmt: skip
        result = run.execute(hits, carry, snap_at, upto=upto)
        if upto is None:
            # Only a stream's last call (``flush``) links to the end: its
            # result holds every decision of the stream, each once.
            log_decisions(result)
        return result, run.carry_out

    def link_many(
        self, answers: Sequence[str | bytes], query: str | None = None
    ) -> list[LinkResult]:
        """``link`` each answer in turn (all with the same query)."""
        return [self.link(a, query) for a in answers]

    def stream(
        self,
        chunks: Iterable[str | bytes],
        query: str | None = None,
        **options: Unpack[LinkOptions],
    ) -> LinkIterator:
        """Link an answer while it streams: yield the linked text piece by piece.

        The pieces joined equal ``link(whole_answer, query, now=...,
        context=...).text``; text is held back only while it could still
        become part of a link (see ``docs/streaming.md`` for the bound).
        Once the iteration has ended, the iterator's ``result`` is that
        ``link`` call's ``LinkResult``, field for field.

        Args:
            chunks: the answer's text chunks, cut anywhere (``text_deltas``
                turns LLM client chunks into text).
            query: the user's question.
            now: the time prices are judged fresh against (default: the
                current time, UTC, taken once when the stream starts).
            context: answer and conversation ids for the merchants' URL
                builders (tracking), as for ``link``.

        Returns:
            A ``LinkIterator``: an iterator of text with a ``result``.

        Raises:
            AnswerError: ``query`` is not text (at once), or a chunk is not
                text or not valid UTF-8 (while iterating).
            ConfigError: ``now`` or ``context`` is of the wrong type.
        """
        return link_stream(self, chunks, query, **options)

    def astream(
        self,
        chunks: AsyncIterable[str | bytes],
        query: str | None = None,
        **options: Unpack[LinkOptions],
    ) -> AsyncLinkIterator:
        """``stream`` for an async iterable of chunks: an ``AsyncLinkIterator`` of text.

        Takes ``now=`` and ``context=`` as ``stream`` does; its ``result``
        is the whole answer's ``LinkResult`` once the iteration has ended.
        """
        return link_astream(self, chunks, query, **options)

    def streamer(self, query: str | None = None, **options: Unpack[LinkOptions]) -> LinkStream:
        """A push-style ``LinkStream`` for one answer: ``feed(chunk)``, then ``flush()``.

        Takes ``now=`` and ``context=`` as ``stream`` does; after ``flush``
        its ``result`` is the whole answer's ``LinkResult``.
        """
        return LinkStream(self, query, **options)


def _gate_list(gates: GatesOption | _Default) -> list[Gate]:
    if isinstance(gates, _Default):
        return list(default_gates())
    if gates is None:
        return []
    if isinstance(gates, (str, os.PathLike, Gate)):
        gates = [gates]
    out: list[Gate] = []
    for item in gates:
        if isinstance(item, Gate):
            out.append(item)
        elif isinstance(item, (str, os.PathLike)):
            out.append(Gate.from_file(item))
        else:
            raise ConfigError(
                f"gates must hold Gate objects or term-file paths, got {type(item).__name__}"
            )
    return out


def _index_for(
    catalog: Catalog, index: ProductIndex | str | os.PathLike[str] | None
) -> ProductIndex:
    if index is None:
        return ProductIndex(catalog)
    if isinstance(index, ProductIndex):
        if index.catalog is not catalog:
            raise ConfigError("index was built for another Catalog object")
        return index
    if isinstance(index, (str, os.PathLike)):
        return ProductIndex.load(index, catalog)
    raise ConfigError(f"index must be a ProductIndex or a path, got {type(index).__name__}")


class _LanguageTracker:
    """Language of the answer up to an offset, counted incrementally.

    ``detect_language(text[:end])`` for every mention would be quadratic on
    a long answer; this keeps running counts instead.
    """

    def __init__(self, text_of: Callable[[int, int], str]) -> None:
        # ``text_of(start, end)``: the text whose scripts count (for HTML,
        # the text nodes only, the rest blanked), asked only for new ranges.
        self._text_of = text_of
        self._upto = 0
        self._han = 0
        self._latin = 0

    def state(self) -> tuple[int, int, int]:
        return (self._upto, self._han, self._latin)

    def restore(self, state: tuple[int, int, int]) -> None:
        self._upto, self._han, self._latin = state

    def at(self, end: int) -> str:
        return language_of_counts(*self.counts(end))

    def counts(self, end: int) -> tuple[int, int]:
        """Han characters and Latin letters before ``end`` (never moving back)."""
        if end > self._upto:
            han, latin = count_scripts(self._text_of(self._upto, end))
            self._han += han
            self._latin += latin
            self._upto = end
        return self._han, self._latin

    def of_mention(self, sentence: tuple[int, int], start: int, end: int) -> str:
        """The label language for a mention at ``[start, end)`` in ``sentence``.

        The sentence without the mention decides: a product's name says
        nothing about the answer's language (``AirPods Pro 2 很好用`` is a
        Chinese answer), the rest of its sentence does, and the sentence
        lies in the mention's block, which a stream has whole before it
        decides.  A sentence with no letters besides the name (a list item
        that is only the name) falls back on the answer before the mention,
        and an answer with none before it on the name itself.
        """
        # At most ``_LABEL_WINDOW`` characters on each side: a "sentence"
        # with no end (a hostile answer's one long line) would otherwise be
        # counted again for each of its mentions, in quadratic time.
        lo = max(sentence[0], start - _LABEL_WINDOW)
        hi = min(sentence[1], end + _LABEL_WINDOW)
        han, latin = count_scripts(self._text_of(lo, start))
        more_han, more_latin = count_scripts(self._text_of(end, hi))
        han, latin = han + more_han, latin + more_latin
        if not han and not latin:
            han, latin = self.counts(start)
        if not han and not latin:
            han, latin = self.counts(end)
        return language_of_counts(han, latin)


class _Run:
    """One ``link`` call: the per-answer state, kept off the shared Linker."""

    def __init__(
        self,
        linker: Linker,
        snap: Snapshot,
        text: str,
        query: str,
        now: _dt.datetime,
        context: LinkContext | None = None,
        carry: Carry | None = None,
        scan: ScanPoint | None = None,
        layout: MarkdownLayout | HtmlLayout | None = None,
        answer_gates: AnswerCheck | None = None,
        released: int | None = None,
        verdicts: tuple[Verdict, ...] = (),
    ) -> None:
        self.linker = linker
        self.context = (
            attrs.evolve(context, style=linker.style) if context else _plain_context(linker.style)
        )
        self._positions: dict[int, LinkContext] = {}
        self.snap = snap
        self.text = text
        self.query_text = query
        self.query = _query_evidence(query)
        self.query_lang = _query_language(query) if query.strip() else None
        self.now = now
        resume = carry.scan_point if carry else None
        if scan is not None and (resume is None or scan.at > resume.at):
            resume = scan
        self.layout = layout if layout is not None else linker._renderer.analyze(text, resume)
        self.languages = _LanguageTracker(
            self.layout.visible_text
            if isinstance(self.layout, HtmlLayout)
            else lambda start, end: text[start:end]
        )
        self.first_number = linker._renderer.first_number(text, self.layout)
        self.links: list[Link] = []
        # Reference numbers by product, in order of first link: a name that
        # links the product a generic word took cites the same entry.
        self.numbers: dict[str, int] = {}
        self.link_langs: list[str] = []  # the language at each link's mention
        self.skipped: list[Skip] = []
        self.insertions: list[Insertion] = []
        self.linked: set[str] = set()  # product ids linked, or the same item as one linked
        # Products linked from a generic name (面膜) whose item the answer has
        # not yet named (not for cards): a later name may link the same product.
        self.by_generic: set[str] = set()
        self._spans: dict[int, tuple[int, int]] = {}  # by hit start: ``_block_span``
        self.linked_keys: set[int] = set()  # keywords that already carry a link
        self._contexts: dict[tuple[int, int], Evidence] = {}
        self._sentences: dict[tuple[int, int], Evidence] = {}
        self._sentence_ends: dict[tuple[int, int], list[int]] = {}  # by block span
        self.accepted: list[Accepted] = []  # by mention start
        # The conversation's verdicts (query, earlier turns, moderation):
        # the first blocks every mention.
        self.verdicts = verdicts
        self.query_trip: Verdict | None = verdicts[0] if verdicts else None
        self.answer_gates = answer_gates
        self.answer_trips: list[Verdict] = []
        if self.query_trip is None:
            if answer_gates is not None:  # a stream's, scanning only new text
                self.answer_trips = answer_gates(text)
            else:
                self.answer_trips = linker._judges.answer_verdicts(text)
        # Advice against products: the cue per mention (by start) found in
        # its block, and the products advised against so far, with why.
        self.cues: dict[int, str] = {}
        self.advised: dict[str, str] = {}
        self.carry_out: Carry | None = None  # set by ``execute``
        self._anchors: tuple[tuple[tuple[int, int, Block], ...], int] = ((), 0)  # by ``_resume``
        # Offers made for links (same catalog, now and max_age in a stream).
        self.offers_seen: dict[tuple[str, str, str], Offer] = (
            carry.offers_seen if carry is not None else {}
        )
        # Card rows rendered (a stream renders each row once, not per re-link).
        self.rows_seen: dict[tuple[object, ...], str] = (
            carry.rows_seen if carry is not None else {}
        )
        # A stream's cards whose rows are out, and what it has released.
        self.cards_done: dict[int, tuple[Link, Link]] = (
            carry.cards_done if carry is not None else {}
        )
        self.released = released

    def execute(
        self,
        hits: Sequence[Hit],
        carry: Carry | None = None,
        snap_at: int = -1,
        upto: int | None = None,
    ) -> LinkResult:
        """Decide and render every hit; then cards or the reference list.

        With ``carry`` (``Linker._link_from``), the hits it covers are taken
        as decided and rendered, and only the rest are processed; the state
        after the blocks ending at or before ``snap_at`` goes to ``carry_out``.
        ``upto``: a stream's re-link, whose ``hits`` stop before it and
        whose result is read before it only: what goes after it (the
        reference list at the end, card rows anchored later) is left out.
        """
        first = self._resume(hits, carry)
        carried_insertions = len(self.insertions)
        # The carried anchors still good, and the hit from which to find them.
        kept_anchors, anchors_from = self._anchors if first else ((), 0)
        groups = self._block_groups(hits, first)
        # The first block that may still change: the carry stops before it.
        # A code or HTML block ending at ``snap_at`` is final line by line
        # but may still grow: its span, and so a gate trip inside it, is not.
        cut = len(groups)
        for g, group in enumerate(groups):
            hit = hits[group[0]]
            end = self._block_span(hit)[1]
            if end > snap_at or (end == snap_at and self._may_grow(hit)):
                cut = g
                break
        snap_hit = groups[cut][0] if cut < len(groups) else len(hits)
        # The language tracker only moves forward: read it in position order.
        langs = [""] * len(hits)
        lang_state = self.languages.state()
        for i in range(first, len(hits)):
            if i == snap_hit:
                lang_state = self.languages.state()
            langs[i] = self.query_lang or self.languages.of_mention(
                self._sentence_span(hits[i]), hits[i].start, hits[i].end
            )
        if snap_hit == len(hits):
            lang_state = self.languages.state()
        outcomes: dict[int, Accepted | tuple[SkipReason, str]] = {}
        decided: _Decided | None = None
        for g, group in enumerate(groups):
            if g == cut:
                decided = self._decided()
            # Inside one block, names that denote one item go first: a generic
            # "面膜" must not take the very mask the same paragraph names.
            # Only the block is consulted (never later text), so a stream
            # decides exactly as a whole answer does.
            order = sorted(group, key=lambda i: (not self.snap.index.is_specific(hits[i].key), i))
            self._advise(hits, group)
            for i in order:
                outcomes[i] = self._one(hits[i], langs[i])
        if decided is None:
            decided = self._decided()
        emitted = (len(self.insertions), len(self.links), len(self.skipped))
        for i in range(first, len(hits)):
            hit = hits[i]
            if i == snap_hit:
                emitted = (len(self.insertions), len(self.links), len(self.skipped))
            outcome = outcomes[i]
            if isinstance(outcome, Accepted):
                self._emit(outcome)
                continue
            kind, detail = outcome
            self.skipped.append(
                Skip(
                    hit.start,
                    hit.end,
                    self.text[hit.start : hit.end],
                    self.snap.index.keyword(hit.key),
                    kind,
                    detail,
                )
            )
        if snap_hit == len(hits):
            emitted = (len(self.insertions), len(self.links), len(self.skipped))
        n_ins, n_links, n_skipped = emitted
        self.carry_out = Carry(
            text=self.text,
            query=self.query_text,
            now=self.now,
            scan_point=self.layout.scan_point if isinstance(self.layout, MarkdownLayout) else None,
            hits=tuple(hits[:snap_hit]),
            cut=max(snap_at, 0),
            cut_hits=tuple(hits[: bisect.bisect_left(hits, snap_at, key=lambda h: h.start)]),
            # The carried hits' spans were just checked to be the same.
            spans=(carry.spans[:first] if carry is not None else ())
            + tuple(self._block_span(hit) for hit in hits[first:snap_hit]),
            anchors=kept_anchors + self._anchors_of(hits, anchors_from, snap_hit),
            first_trip=self.answer_trips[0] if self.answer_trips else None,
            first_number=self.first_number,
            offers_seen=self.offers_seen,
            rows_seen=self.rows_seen,
            cards_done=self.cards_done,
            answer_check=self.answer_gates,
            accepted=tuple(decided[0]),
            linked=decided[1],
            linked_keys=decided[2],
            by_generic=decided[3],
            advised=decided[4],
            lang_state=lang_state,
            insertions=tuple(self.insertions[:n_ins]),
            links=tuple(self.links[:n_links]),
            link_langs=tuple(self.link_langs[:n_links]),
            skipped=tuple(self.skipped[:n_skipped]),
        )
        if upto is not None and self.linker.style != "card":
            # A stream's re-link: the reference list goes at the end, which
            # is not released before ``flush``; offers are not read either.
            # The stream reads the insertions, not the text, so the text is
            # not assembled; and the new blocks' insertions all come after
            # the carried ones, so only they need ordering.
            links = list(self.links)
            tail = self.insertions[carried_insertions:]
            tail.sort(key=_insertion_at)  # stable: a prefix stays before its suffix
            self.insertions[carried_insertions:] = tail
            return LinkResult(
                original=self.text,
                text=self.text,
                links=tuple(links),
                skipped=tuple(self.skipped),
                insertions=tuple(self.insertions),
                style=self.linker.style,
                format=self.linker.format,
                verdicts=(*self.verdicts, *self.answer_trips),
            )
        blocks, links = self.linker._renderer.finish(
            self.text,
            self.layout,
            self.links,
            self.snap.catalog,
            now=self.now,
            max_age=self.linker.price_max_age,
            lang=self.query_lang or self.languages.at(len(self.text)),
            first_number=self.first_number,
            langs=self.link_langs,
            offers_seen=self.offers_seen,
            rows_seen=self.rows_seen,
            rows_upto=upto,
            rows_from=self.released,
            cards_done=self.cards_done if self.released is not None else None,
        )
        self.insertions.extend(blocks)
        self.insertions.sort(key=_insertion_at)  # stable: a prefix stays before its suffix
        return LinkResult(
            original=self.text,
            text=apply_insertions(self.text, self.insertions),
            links=tuple(links),
            skipped=tuple(self.skipped),
            insertions=tuple(self.insertions),
            style=self.linker.style,
            format=self.linker.format,
            verdicts=(*self.verdicts, *self.answer_trips),
        )

    def _advise(self, hits: Sequence[Hit], group: Sequence[int]) -> None:
        """Find the block's advice against its mentions, before any of them is decided.

        A cue anywhere in the block counts for every mention of the product
        in the block (the block is read whole, as for choosing), and for
        every later block; earlier blocks are decided already (a stream
        has sent them).
        """
        if self.query_trip is not None:
            return
        span = self._block_span(hits[group[0]])
        cues = advice_in_block(self.text, span, [(hits[i].start, hits[i].end) for i in group])
        index, catalog = self.snap.index, self.snap.catalog
        for i, cue in zip(group, cues, strict=True):
            if cue is None:
                continue
            hit = hits[i]
            self.cues[hit.start] = cue
            if not index.is_specific(hit.key):
                continue  # "别买面膜" is about the kind, not one product
            detail = f"{cue!r} at {hit.start} advises against {self.text[hit.start : hit.end]!r}"
            for profile in index.profiles(hit.key):
                for offer in catalog.offers(profile.product_id):
                    self.advised.setdefault(offer.id, detail)

    def _context_at(self, position: int) -> LinkContext:
        """The link context for the link at ``position`` (1-based), made once."""
        context = self._positions.get(position)
        if context is None:
            context = self._positions[position] = attrs.evolve(self.context, position=position)
        return context

    def _block_span(self, hit: Hit) -> tuple[int, int]:
        # Asked several times per mention; a run's hits never share a start.
        span = self._spans.get(hit.start)
        if span is None:
            block = self.layout.block_at(hit.start)
            if block is not None:
                span = (block.start, block.end)
            else:
                span = (max(0, hit.start - _CONTEXT_WINDOW), hit.end + _CONTEXT_WINDOW)
            self._spans[hit.start] = span
        return span

    def _anchors_of(
        self, hits: Sequence[Hit], lo: int, hi: int
    ) -> tuple[tuple[int, int, Block], ...]:
        """(first hit, index, block) of each block holding ``hits[lo:hi]``, in order."""
        blocks = self.layout.blocks
        out: list[tuple[int, int, Block]] = []
        for h in range(lo, hi):
            start = hits[h].start
            if out and start < out[-1][2].end:
                continue  # in the same block as the hit before (hits are in order)
            i = bisect.bisect_right(blocks, start, key=_block_start) - 1
            if i >= 0 and blocks[i].start <= start < blocks[i].end:
                out.append((h, i, blocks[i]))
        return tuple(out)

    def _may_grow(self, hit: Hit) -> bool:
        """Whether the Markdown leaf holding ``hit`` can take more lines (code, HTML)."""
        if not isinstance(self.layout, MarkdownLayout):
            return False
        block = self.layout.block_at(hit.start)
        return block is not None and block.kind in ("code", "html")

    def _context(self, hit: Hit) -> tuple[Evidence, Evidence]:
        """Evidence from the mention's block and from its sentence in that block."""
        span = self._block_span(hit)
        evidence = self._contexts.get(span)
        if evidence is None:
            evidence = Evidence.of(self.text[span[0] : span[1]])
            self._contexts[span] = evidence
        sspan = self._sentence_span(hit)
        sentence = self._sentences.get(sspan)
        if sentence is None:
            sentence = Evidence.of(self.text[sspan[0] : sspan[1]])
            self._sentences[sspan] = sentence
        return evidence, sentence

    def _sentence_span(self, hit: Hit) -> tuple[int, int]:
        """The sentence holding ``hit``, within its block."""
        span = self._block_span(hit)
        ends = self._sentence_ends.get(span)
        if ends is None:
            ends = self._sentence_ends[span] = sentence_ends(self.text, span)
        return sentence_span(self.text, span, hit.start, hit.end, ends)

    def _gated(self, hit: Hit) -> Verdict | None:
        if self.query_trip is not None:
            return self.query_trip
        if self.answer_trips:
            block_end = self._block_span(hit)[1]
            for trip in self.answer_trips:  # earliest first
                if trip.end <= block_end:
                    return trip
                break
        return None

    def _resume(self, hits: Sequence[Hit], carry: Carry | None) -> int:
        """Take over ``carry`` if it still holds for ``hits``; how many hits it covers.

        It holds when the hits it decided are the first hits now, each in
        the same block, the first hit after them is in a later block, no
        carried hit is gated differently, and reference markers start at
        the same number.  Otherwise nothing is taken
        and every hit is decided again (0).
        """
        if carry is None or not carry.hits:
            return 0
        k = len(carry.hits)
        if len(hits) < k or tuple(hits[:k]) != carry.hits:
            return 0
        spans = carry.spans
        # Layouts only ever append blocks (or replace the last one), and a
        # later layout of a stream takes over an earlier one's blocks by
        # copying them: if a block holding carried hits is the very object
        # it was, at the same index, so is every block before it, and the
        # hits up to it are in the blocks they were.  Only the hits after
        # the last such block are looked up again (usually none or one
        # block's: the last run of an HTML layout is made afresh).
        blocks = self.layout.blocks
        kept = len(carry.anchors)
        while kept and not _same_block(blocks, carry.anchors[kept - 1]):
            kept -= 1
        recheck = carry.anchors[kept][0] if kept < len(carry.anchors) else k
        if any(
            self._block_span(hits[i]) != spans[i] for i in range(recheck, k)
        ):
            return 0
        self._anchors = (carry.anchors[:kept], recheck)
        if k < len(hits) and self._block_span(hits[k]) == spans[-1]:
            return 0
        if self.first_number != carry.first_number:
            return 0  # reference markers are numbered after the answer's own list
        trip = self.answer_trips[0] if self.answer_trips else None
        if trip != carry.first_trip and self.query_trip is None:
            last = spans[-1][1]
            if (trip is not None and trip.end <= last) or (
                carry.first_trip is not None and carry.first_trip.end <= last
            ):
                return 0
        self.accepted = list(carry.accepted)
        self.linked = set(carry.linked)
        self.linked_keys = set(carry.linked_keys)
        self.by_generic = set(carry.by_generic)
        self.advised = dict(carry.advised)
        self.languages.restore(carry.lang_state)
        self.insertions = list(carry.insertions)
        self.links = list(carry.links)
        for link in self.links:
            self.numbers.setdefault(link.product_id, self.first_number + len(self.numbers))
        self.link_langs = list(carry.link_langs)
        self.skipped = list(carry.skipped)
        return k

    def _block_groups(self, hits: Sequence[Hit], first: int = 0) -> list[list[int]]:
        """Indices of ``hits`` from ``first`` on, grouped by the block holding them, in order."""
        groups: list[list[int]] = []
        last: tuple[int, int] | None = None
        for i in range(first, len(hits)):
            hit = hits[i]
            span = self._block_span(hit)
            if groups and span == last:
                groups[-1].append(i)
            else:
                groups.append([i])
                last = span
        return groups

    def _one(self, hit: Hit, lang: str) -> Accepted | tuple[SkipReason, str]:
        """Decide one hit: accept it (and reserve its product) or say why not."""
        linker, catalog = self.linker, self.snap.catalog
        trip = self._gated(hit)
        if trip is not None:
            return SkipReason.GATED, trip.describe()
        label = resolve_label(linker.label, lang)
        # Where may markup go?  Asked first with the shape of the markup
        # (the URL does not change what it touches), so that a mention in
        # code is reported as in code, not as whatever ranking would say.
        where = self.layout.refusal(hit.start, hit.end)
        if where is not None:
            return SkipReason(where.value), ""
        cue = self.cues.get(hit.start)
        if cue is not None:
            # "别买X", "X踩雷了", "skip the X": a link would recommend what
            # the answer advises against.
            return SkipReason.ADVISED_AGAINST, f"{cue!r} advises against it"
        index = self.snap.index
        specific = index.is_specific(hit.key)
        if self.advised and specific:
            advised = self.advised
            why = next(
                (advised[p.product_id] for p in index.profiles(hit.key) if p.product_id in advised),
                None,
            )
            if why is not None:
                return SkipReason.ADVISED_AGAINST, why
        if hit.key in self.linked_keys:
            # A name links once per answer: a second "面膜" linking to another
            # mask would read as two recommendations the answer never made.
            return SkipReason.ALREADY_LINKED, "this name is already linked"
        if linker.max_links is not None and len(self.accepted) >= linker.max_links:
            return SkipReason.CAPPED, f"max_links={linker.max_links}"
        profiles, restricted = self._unrestricted(index.profiles(hit.key))
        if not profiles:
            assert restricted is not None
            return SkipReason.RESTRICTED, restricted.describe()
        block, sentence = self._context(hit)
        # A name may take the very product a generic word took for its item
        # (only that product: the item keeps one shop per answer).
        exclude: AbstractSet[str] = (
            _Except(self.linked, self.by_generic) if specific and self.by_generic else self.linked
        )
        if self.advised:
            exclude = _Union(exclude, self.advised.keys())
        decision = choose(
            profiles,
            query=self.query,
            context=block,
            sentence=sentence,
            keyword=self.snap.index.keyword(hit.key),
            exclude=exclude,  # read only while choosing
            # Only what a stream has when it decides: not the whole answer.
            tie_salt="\x1f".join((self.query.folded, self.text[hit.start : hit.end], block.folded)),
        )
        if not isinstance(decision, Choice):
            if decision.reason == "already_linked" and self.advised:
                advised = self.advised
                whys = [advised[p.product_id] for p in profiles if p.product_id in advised]
                if whys and all(p.product_id in exclude for p in profiles):
                    return SkipReason.ADVISED_AGAINST, whys[0]
            return SkipReason(decision.reason), decision.detail
        product = catalog[decision.product_id]
        position = len(self.accepted) + 1
        try:
            url = catalog.link_url(product, self._context_at(position))
        except LinkError as exc:  # one merchant's builder must not cost the answer
            return SkipReason.LINK_FAILED, str(exc)
        try:
            markup = linker._renderer.mention(
                url=url,
                label=label,
                lang=lang,
                title=product.title,
                number=self.first_number + len(self.accepted),
            )
        except Exception as exc:  # a user's template may fail; the answer must not
            return SkipReason.RENDER_FAILED, f"{type(exc).__name__}: {exc}"
        # Checked together with the links already accepted: two links that
        # are each harmless alone can re-pair emphasis between them.
        final = self.layout.place(
            hit.start,
            hit.end,
            markup.probe_prefix,
            markup.probe_suffix,
            accepted=self._neighbours(hit),
        )
        if not isinstance(final, Placement):
            return SkipReason.MARKUP, "the rendered link would change the Markdown around it"
        crowded = self._crowded(hit, final)
        if crowded is not None:
            return crowded
        accepted = Accepted(
            hit,
            product,
            decision,
            url,
            label,
            lang,
            final,
            markup.probe_prefix,
            markup.probe_suffix,
            position,
        )
        bisect.insort(self.accepted, accepted, key=lambda a: a.hit.start)
        self.linked.update(p.id for p in catalog.offers(product.id))
        self.linked_keys.add(hit.key)
        if specific:
            self.by_generic.discard(product.id)
        elif linker._renderer.links_names_again:
            self.by_generic.add(product.id)
        return accepted

    def _unrestricted(
        self, profiles: Sequence[RelevanceProfile]
    ) -> tuple[Sequence[RelevanceProfile], Verdict | None]:
        """``profiles`` less those in a regulated category, and the first such verdict."""
        judges = self.linker._judges
        verdict: Verdict | None = None
        kept: list[RelevanceProfile] = []
        for profile in profiles:
            found = judges.product(profile)
            if found is None:
                kept.append(profile)
            elif verdict is None:
                verdict = found
        if verdict is None:
            return profiles, None
        return tuple(kept), verdict

    def _decided(self) -> _Decided:
        """What later blocks' decisions read, as it stands now (for a carry)."""
        return (
            list(self.accepted),
            frozenset(self.linked),
            frozenset(self.linked_keys),
            frozenset(self.by_generic),
            dict(self.advised),
        )

    def _neighbours(self, hit: Hit) -> list[tuple[Placement, str, str]]:
        """The accepted links in ``hit``'s block: the only ones its markup can interact with."""
        start, end = self._block_span(hit)
        key = lambda a: a.final.start  # noqa: E731 - one key for both bounds
        lo = bisect.bisect_left(self.accepted, start, key=key)
        hi = bisect.bisect_left(self.accepted, end, key=key)
        return [(a.final, a.probe_prefix, a.probe_suffix) for a in self.accepted[lo:hi]]

    def _crowded(self, hit: Hit, final: Placement) -> tuple[SkipReason, str] | None:
        """Whether a link here would sit too close to one already accepted."""
        at = bisect.bisect_left(self.accepted, hit.start, key=lambda a: a.hit.start)
        before = self.accepted[at - 1] if at > 0 else None
        after = self.accepted[at] if at < len(self.accepted) else None
        for left, right in ((before, None), (None, after)):
            if left is not None:
                gap_text = self.text[left.final.end : final.start]
                gap_from, gap_to = left.hit.end, hit.start
                overlap = final.start < left.final.end
            elif right is not None:
                gap_text = self.text[final.end : right.final.start]
                gap_from, gap_to = hit.end, right.hit.start
                overlap = right.final.start < final.end
            else:
                continue
            gap = gap_to - gap_from
            if overlap or (gap_text and not gap_text.strip("*_~")):
                # Only delimiter characters between two links: each placement
                # was checked alone, together they could re-pair emphasis.
                return SkipReason.MARKUP, "too close to another link's markup"
            # The gap is about tap targets in the text; cards and reference
            # entries are laid out apart from it, so it is for inline links only.
            if (
                self.linker.style == "inline"
                and gap < self.linker.min_gap
                and not _SENTENCE_BREAK.search(self.text, gap_from, gap_to)
            ):
                return SkipReason.TOO_CLOSE, (
                    f"{gap} characters from another link, min_gap={self.linker.min_gap}"
                )
        return None

    def _emit(self, acc: Accepted) -> None:
        """Insert an accepted link's markup; positions and numbers follow the text.

        The URL is built again with the link's final position (decisions in a
        block are made specific names first, so the position known then was
        provisional).
        """
        catalog, hit = self.snap.catalog, acc.hit
        position = len(self.links) + 1
        url = acc.url
        if position != acc.position:  # only when a later mention was decided first
            try:
                url = catalog.link_url(acc.product, self._context_at(position))
            except LinkError:
                # It built once with the provisional position; dropping the link
                # now would leave the others checked against a link that is gone.
                url = acc.url
        href: str | None = None
        number = self.numbers.get(acc.product.id)
        if number is None:
            number = self.numbers[acc.product.id] = self.first_number + len(self.numbers)
        elif self.linker.style == "reference":
            # The marker cites the entry made for the product's first link,
            # which shows that link's URL: so does this link's record.
            href = next(link.url for link in self.links if link.product_id == acc.product.id)
        markup = self.linker._renderer.mention(
            url=url,
            label=acc.label,
            lang=acc.lang,
            title=acc.product.title,
            number=number,
        )
        if markup.prefix:
            self.insertions.append(Insertion(acc.final.start, markup.prefix))
        if markup.suffix:
            self.insertions.append(Insertion(acc.final.end, markup.suffix))
        self.links.append(
            Link(
                start=hit.start,
                end=hit.end,
                mention=self.text[hit.start : hit.end],
                product_id=acc.product.id,
                merchant=acc.product.merchant,
                url=href if href is not None else href_of(url),
                title=acc.product.title,
                house=catalog.merchant(acc.product.merchant).house,
                keyword=self.snap.index.keyword(hit.key),
                label=acc.label,
                candidates=tuple(Candidate(pid, sc) for pid, sc in acc.decision.scored),
                tied=acc.decision.tied,
                tie_break=acc.decision.tie_break,
                policy=POLICY_VERSION,
                wrap_start=acc.final.start,
                wrap_end=acc.final.end,
                offers=tuple(
                    p.id for p in catalog.offers(acc.product.id) if p.id != acc.product.id
                ),
            )
        )
        self.link_langs.append(acc.lang)


def _block_start(block: Block) -> int:
    return block.start


def _insertion_at(insertion: Insertion) -> int:
    return insertion.at


def _same_block(blocks: Sequence[Block], anchor: tuple[int, int, Block]) -> bool:
    _, index, block = anchor
    return index < len(blocks) and blocks[index] is block


def _find_after(snap: Snapshot, text: str, carry: Carry | None) -> list[Hit]:
    """``snap.index.find(text)``, scanning only the text after the carry's cut if it can.

    No hit spans the cut when the character before it is a line break (or
    a tag's ``>``) that no keyword holds, so the hits before it are the
    carry's and the rest are found in the text after it alone (that
    character is no word character: the boundary rule reads the same).
    """
    if carry is not None and 0 < carry.cut <= len(carry.text):
        before = text[carry.cut - 1]
        if before in "\n>" and not snap.keywords_contain(before):
            cut = carry.cut
            found = snap.index.find(text[cut:])
            return [*carry.cut_hits, *(Hit(h.start + cut, h.end + cut, h.key) for h in found)]
    return snap.index.find(text)


class _Union(AbstractSet[str]):
    """``a | b``, read in place (no copy per mention)."""

    __slots__ = ("_a", "_b")

    def __init__(self, a: AbstractSet[str], b: AbstractSet[str]) -> None:
        self._a = a
        self._b = b

    def __contains__(self, item: object) -> bool:
        return item in self._a or item in self._b

    def __iter__(self) -> Iterator[str]:
        yield from self._a
        yield from (item for item in self._b if item not in self._a)

    def __len__(self) -> int:
        return sum(1 for _ in self)


# What the decisions so far leave for later blocks (``_Run._decided``).
_Decided = tuple[list[Accepted], frozenset[str], frozenset[int], frozenset[str], dict[str, str]]


class _Except(AbstractSet[str]):
    """``whole`` less ``but``, read in place (no copy per mention)."""

    __slots__ = ("_but", "_whole")

    def __init__(self, whole: AbstractSet[str], but: AbstractSet[str]) -> None:
        self._whole = whole
        self._but = but

    def __contains__(self, item: object) -> bool:
        return item in self._whole and item not in self._but

    def __iter__(self) -> Iterator[str]:
        return (item for item in self._whole if item not in self._but)

    def __len__(self) -> int:
        return sum(1 for _ in self)
