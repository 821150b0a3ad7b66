"""The ``Linker`` facade: catalog in, linked answer out.

The pipeline, each stage a plain value handed to the next::

    answer ──► ProductIndex.find ──► hits (keyword occurrences, leftmost-longest)
           ──► MarkdownLayout.place ──► may a link go here, and where exactly
           ──► rank.choose ──► which product (relevance only)
           ──► Renderer.wrap ──► prefix / suffix markup
           ──► LinkResult (insertions on the untouched answer)

The linker holds one immutable snapshot (catalog + index).  ``update``
swaps it in a single assignment, so a call that is running keeps the
snapshot it started with and never sees half of each.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import attrs

from ._catalog import Catalog
from ._exceptions import AnswerError, ConfigError, NotSupportedError
from ._index import ProductIndex
from ._labels import (
    count_scripts,
    detect_language,
    language_of_counts,
    resolve_label,
    validate_label,
)
from ._markdown import MarkdownLayout, Placement, Refusal
from ._matcher import Hit
from ._rank import POLICY_VERSION, Choice, Evidence, choose
from ._render import InlineMarkdownRenderer, LinkMarkup, Renderer, TemplateSource
from ._result import (
    Candidate,
    Insertion,
    Link,
    LinkResult,
    Skip,
    SkipReason,
    apply_insertions,
)
from ._urls import href_of

__all__ = ["DEFAULT_MAX_LINKS", "Linker"]

#: Default cap on links per answer.  A recommendation answer typically names
#: three to five products; beyond five, links stop helping a reader choose
#: and start to make the answer read like an advertisement.
DEFAULT_MAX_LINKS = 5

STYLES = ("inline", "card", "reference")
FORMATS = ("markdown", "html")
_BUILT = {("inline", "markdown")}

# How far around a mention to look for context when no block is known.
_CONTEXT_WINDOW = 300


@attrs.frozen
class _Snapshot:
    catalog: Catalog
    index: ProductIndex


class Linker:
    """Attach shopping links to the products an answer names.

    Args:
        catalog: the products to link to.
        style: ``"inline"`` (link on the product name; built),
            ``"card"`` or ``"reference"`` (not built yet).
        format: ``"markdown"`` (built) or ``"html"`` (not built yet).
        label: the visible disclosure: ``"auto"`` (default: 广告 for Chinese
            answers, Sponsored otherwise), ``"cn"``, ``"us"``, any short
            text, or None to leave it to the front end.
        max_links: at most this many links per answer (default 5); None for
            no cap.
        templates: a folder or Jinja loader with templates overriding the
            built-in ones.
        index: a prebuilt ``ProductIndex`` for ``catalog``, or the path of
            an index file (``shoplink index build``; load only files you
            trust); None (default) builds the index here.

    Raises:
        ConfigError: an argument has an invalid value.
        IndexFileError: the index file does not fit ``catalog`` or is corrupt.
        NotSupportedError: the style/format combination is not built yet.
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
        index: ProductIndex | str | os.PathLike[str] | None = None,
    ) -> None:
        if style not in STYLES:
            raise ConfigError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
        if format not in FORMATS:
            raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
        if (style, format) not in _BUILT:
            raise NotSupportedError(f"style={style!r} with format={format!r} is not built yet")
        if max_links is not None and (
            isinstance(max_links, bool) or not isinstance(max_links, int) or max_links < 0
        ):
            raise ConfigError(
                f"max_links must be a non-negative integer or None, got {max_links!r}"
            )
        if not isinstance(catalog, Catalog):
            raise ConfigError(f"catalog must be a shoplink Catalog, got {type(catalog).__name__}")
        self.style = style
        self.format = format
        self.label = validate_label(label)
        self.max_links = max_links
        self._renderer: Renderer = InlineMarkdownRenderer(templates)
        self._snapshot = _Snapshot(catalog, _index_for(catalog, index))

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
        self._snapshot = _Snapshot(catalog, ProductIndex(catalog))

    def link(self, answer: str, query: str | None = None) -> LinkResult:
        """Link the products that ``answer`` names.

        Args:
            answer: the assistant's answer (Markdown text; UTF-8 bytes are
                accepted and decoded).
            query: the user's question, used for relevance and for the
                label language.

        Returns:
            A ``LinkResult``.  Its ``text`` is ``answer`` with link markup
            inserted; nothing of ``answer`` is changed or removed.

        Raises:
            AnswerError: ``answer`` is not text or not valid UTF-8.
        """
        text = _as_text(answer, "answer")
        query_text = _as_text(query, "query") if query is not None else ""
        snap = self._snapshot
        index = snap.index
        hits = index.find(text)
        if not hits:
            return LinkResult(text, text, (), (), ())
        return _Run(self, snap, text, query_text).execute(hits)

    def link_many(self, answers: Sequence[str], query: str | None = None) -> list[LinkResult]:
        """``link`` each answer in turn (all with the same query)."""
        return [self.link(a, query) for a in answers]


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


def _as_text(value: object, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise AnswerError(
                f"{what} is not valid UTF-8: byte {exc.start} (line {line})"
            ) from None
    raise AnswerError(f"{what} must be str, got {type(value).__name__}")


class _LanguageTracker:
    """Language of the answer up to an offset, counted incrementally.

    ``detect_language(text[:end])`` for every mention would be quadratic on
    a long answer; this keeps running counts instead.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._upto = 0
        self._han = 0
        self._latin = 0

    def at(self, end: int) -> str:
        if end > self._upto:
            han, latin = count_scripts(self._text[self._upto : end])
            self._han += han
            self._latin += latin
            self._upto = end
        return language_of_counts(self._han, self._latin)


class _Run:
    """One ``link`` call: the per-answer state, kept off the shared Linker."""

    def __init__(self, linker: Linker, snap: _Snapshot, text: str, query: str) -> None:
        self.linker = linker
        self.snap = snap
        self.text = text
        self.query = Evidence.of(query)
        self.query_lang = detect_language(query) if query.strip() else None
        self.languages = _LanguageTracker(text)
        self.layout = MarkdownLayout.analyze(text)
        self.links: list[Link] = []
        self.skipped: list[Skip] = []
        self.insertions: list[Insertion] = []
        self.linked: set[str] = set()
        self._shapes: dict[tuple[str | None, str], LinkMarkup] = {}
        self._contexts: dict[tuple[int, int], Evidence] = {}
        self._last_wrap_end = -1

    def execute(self, hits: Sequence[Hit]) -> LinkResult:
        for hit in hits:
            reason = self._one(hit)
            if reason is not None:
                kind, detail = reason
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
        self.insertions.sort(key=lambda ins: ins.at)  # stable: a prefix stays before its suffix
        return LinkResult(
            original=self.text,
            text=apply_insertions(self.text, self.insertions),
            links=tuple(self.links),
            skipped=tuple(self.skipped),
            insertions=tuple(self.insertions),
        )

    def _shape(self, label: str | None, lang: str) -> LinkMarkup:
        key = (label, lang)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self.linker._renderer.wrap(
                url="https://x.invalid/", label=label, lang=lang, title=""
            )
            self._shapes[key] = shape
        return shape

    def _context(self, hit: Hit) -> Evidence:
        block = self.layout.block_at(hit.start)
        if block is not None:
            span = (block.start, block.end)
        else:
            span = (max(0, hit.start - _CONTEXT_WINDOW), hit.end + _CONTEXT_WINDOW)
        evidence = self._contexts.get(span)
        if evidence is None:
            evidence = Evidence.of(self.text[span[0] : span[1]])
            self._contexts[span] = evidence
        return evidence

    def _one(self, hit: Hit) -> tuple[SkipReason, str] | None:
        """Link one hit, or say why not."""
        text, linker, catalog = self.text, self.linker, self.snap.catalog
        lang = self.query_lang or self.languages.at(hit.end)
        label = resolve_label(linker.label, lang)
        # Where may markup go?  Asked first with the shape of the markup
        # (the URL does not change what it touches), so that a mention in
        # code is reported as in code, not as whatever ranking would say.
        shape = self._shape(label, lang)
        where = self.layout.place(hit.start, hit.end, shape.prefix, shape.suffix)
        if isinstance(where, Refusal):
            return SkipReason(where.value), ""
        if linker.max_links is not None and len(self.links) >= linker.max_links:
            return SkipReason.CAPPED, f"max_links={linker.max_links}"
        decision = choose(
            self.snap.index.profiles(hit.key),
            query=self.query,
            context=self._context(hit),
            exclude=frozenset(self.linked),
        )
        if not isinstance(decision, Choice):
            return SkipReason(decision.reason), decision.detail
        product = catalog[decision.product_id]
        try:
            markup = linker._renderer.wrap(
                url=product.url, label=label, lang=lang, title=product.title
            )
        except Exception as exc:  # a user's template may fail; the answer must not
            return SkipReason.RENDER_FAILED, f"{type(exc).__name__}: {exc}"
        final = self.layout.place(hit.start, hit.end, markup.prefix, markup.suffix)
        if not isinstance(final, Placement):
            return SkipReason.MARKUP, "the rendered link would change the Markdown around it"
        between = text[self._last_wrap_end : final.start] if self._last_wrap_end >= 0 else "x"
        if final.start < self._last_wrap_end or (between and not between.strip("*_~")):
            # Only delimiter characters between two links: each placement was
            # checked alone, together they could re-pair emphasis.
            return SkipReason.MARKUP, "too close to the previous link"
        self._last_wrap_end = final.end
        self.linked.add(product.id)
        self.insertions.append(Insertion(final.start, markup.prefix))
        self.insertions.append(Insertion(final.end, markup.suffix))
        self.links.append(
            Link(
                start=hit.start,
                end=hit.end,
                mention=text[hit.start : hit.end],
                product_id=product.id,
                merchant=product.merchant,
                url=href_of(product.url),
                title=product.title,
                house=catalog.merchant(product.merchant).house,
                keyword=self.snap.index.keyword(hit.key),
                label=label,
                candidates=tuple(Candidate(pid, s) for pid, s in decision.scored),
                policy=POLICY_VERSION,
                wrap_start=final.start,
                wrap_end=final.end,
            )
        )
        return None
