"""What a link run reads and what a stream carries between re-links.

``Snapshot`` is the catalog and index a ``Linker`` links with (``update``
swaps it in one assignment).  ``Accepted`` is a mention that will be linked,
decided before its markup is placed.  ``Carry`` is a run's state after the
blocks a stream has closed, handed back to the next re-link.

They live here, below ``_linker`` (which makes them) and ``_stream`` (which
holds them), so that imports run one way: ``_linker`` -> ``_stream`` ->
``_state``.
"""

from __future__ import annotations

import datetime as _dt

import attrs

from ._catalog import Catalog
from ._index import ProductIndex
from ._judge import AnswerCheck, Verdict
from ._markdown import Block, Placement, ScanPoint
from ._matcher import Hit
from ._model import Product
from ._offers import Offer
from ._rank import Choice
from ._result import Insertion, Link, Skip

__all__ = ["Accepted", "Carry", "Snapshot"]


@attrs.frozen
class Snapshot:
    """A catalog and its index, one value: ``Linker.update`` swaps it whole."""

    catalog: Catalog
    index: ProductIndex
    # character -> whether some folded keyword contains it (filled on first use).
    _in_keywords: dict[str, bool] = attrs.field(factory=dict, eq=False, repr=False)

    def keywords_contain(self, char: str) -> bool:
        """Whether a mention can span ``char`` (a keyword holds it, folded)."""
        found = self._in_keywords.get(char)
        if found is None:
            # Once per catalog; threads racing here compute the same value.
            found = self.index.matcher.holds(char)
            self._in_keywords[char] = found
        return found


@attrs.frozen
class Accepted:
    """A mention that will be linked, decided before its markup is placed."""

    hit: Hit
    product: Product
    decision: Choice
    url: str
    label: str | None
    lang: str
    final: Placement
    probe_prefix: str
    probe_suffix: str
    position: int  # the link position ``url`` was built with


@attrs.frozen
class Carry:
    """A ``_Run``'s state after the blocks a stream has closed (``Linker._link_from``).

    Everything a later block's decisions read from earlier blocks: the links
    accepted (cap, spacing, placement), the products and names linked, the
    language counts, the gates; and what those blocks rendered.
    """

    text: str  # the text it was made from (a later text must extend it)
    query: str  # and the query and clock (the linker must be the same too)
    now: _dt.datetime
    scan_point: ScanPoint | None  # where the Markdown block scan can resume
    hits: tuple[Hit, ...]  # the hits decided, in order
    cut: int  # the stream's closed end when it was made
    cut_hits: tuple[Hit, ...]  # every hit in ``text`` before ``cut``
    spans: tuple[tuple[int, int], ...]  # the block span of each
    # Per block holding decided hits: its first hit, its index and the block
    # object itself (``_Run._resume``).
    anchors: tuple[tuple[int, int, Block], ...]
    first_trip: Verdict | None  # the answer's first verdict when decided
    first_number: int  # of the reference markers
    offers_seen: dict[tuple[str, str, str], Offer]  # a cache shared along a stream
    rows_seen: dict[tuple[object, ...], str]  # another: card rows rendered
    cards_done: dict[int, tuple[Link, Link]]  # and another: cards whose rows are out
    answer_check: AnswerCheck | None  # the judges' reading of the answer so far
    accepted: tuple[Accepted, ...]
    linked: frozenset[str]
    linked_keys: frozenset[int]
    by_generic: frozenset[str]
    advised: dict[str, str]  # products advised against, with why
    lang_state: tuple[int, int, int]
    insertions: tuple[Insertion, ...]
    links: tuple[Link, ...]
    link_langs: tuple[str, ...]
    skipped: tuple[Skip, ...]
