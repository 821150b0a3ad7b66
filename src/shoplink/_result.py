"""What linking returns: the links, the skipped mentions, and the edits.

A ``LinkResult`` is a plain value.  Its ``insertions`` are the only thing that
differs between the original answer and ``text``: every inserted piece of
markup is an ``Insertion`` at an offset of the original answer, so anyone can
check (``result.strip()``) that the answer's own words are untouched.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ._judge import Verdict
    from ._offers import Offer

__all__ = [
    "Candidate",
    "Insertion",
    "Link",
    "LinkResult",
    "Skip",
    "SkipReason",
    "apply_insertions",
]


class SkipReason(str, enum.Enum):
    """Why a mention that named a product did not become a link."""

    IN_CODE = "in_code"
    IN_LINK = "in_link"
    IN_URL = "in_url"
    IN_HTML = "in_html"
    IN_HEADING = "in_heading"
    MARKUP = "markup"
    NOT_TEXT = "not_text"
    ALREADY_LINKED = "already_linked"
    CAPPED = "capped"
    TOO_CLOSE = "too_close"
    OUT_OF_STOCK = "out_of_stock"
    AMBIGUOUS = "ambiguous"
    GATED = "gated"
    RESTRICTED = "restricted"
    ADVISED_AGAINST = "advised_against"
    RENDER_FAILED = "render_failed"
    LINK_FAILED = "link_failed"


@attrs.frozen
class Insertion:
    """A piece of markup inserted at offset ``at`` of the original answer.

    Several insertions at one offset are applied in their order in
    ``LinkResult.insertions``.
    """

    at: int
    text: str


@attrs.frozen
class Candidate:
    """A product that was considered for a mention, with its relevance score."""

    product_id: str
    score: float


@attrs.frozen
class Link:
    """One inserted shopping link and the record of why it was chosen.

    Attributes:
        start, end: the mention's offsets in the original answer.
        mention: ``answer[start:end]``.
        product_id, merchant, url: what it links to (``url`` is the final,
            encoded link target).
        title: the product's title.
        house: True when the merchant is the assistant's own shop.
        keyword: the catalog keyword (folded) that matched.
        label: the visible disclosure text, or None if turned off.
        candidates: every product considered, best first, with scores.
        policy: the version of the choice policy that made the decision.
        wrap_start, wrap_end: the span of the original answer the link markup
            wraps (wider than the mention when the link encloses emphasis).
        offer: what a card or reference entry shows (title, price if fresh,
            merchant name, picture), or None.
        number: the reference number (``style="reference"``), else None.
        card_at: the offset of the original answer after which this link's
            card row is inserted (``style="card"``), else None.
        offers: ids of the other products that are the same item at other
            shops (``Catalog.offers``), sorted by id.
        tied: when several candidates had exactly the best score, their ids
            (in ``tie_key`` order); empty when the winner scored highest alone.
        tie_break: how the tie was broken (the hash of the query, mention
            and block that picked the winner), ``""`` without a tie.
    """

    start: int
    end: int
    mention: str
    product_id: str
    merchant: str
    url: str
    title: str
    house: bool
    keyword: str
    label: str | None
    candidates: tuple[Candidate, ...]
    policy: str
    wrap_start: int
    wrap_end: int
    offer: Offer | None = None
    number: int | None = None
    card_at: int | None = None
    offers: tuple[str, ...] = ()
    tied: tuple[str, ...] = ()
    tie_break: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "start": self.start,
            "end": self.end,
            "mention": self.mention,
            "product_id": self.product_id,
            "merchant": self.merchant,
            "url": self.url,
            "title": self.title,
            "house": self.house,
            "keyword": self.keyword,
            "label": self.label,
            "rel": "sponsored",
            "candidates": [{"product_id": c.product_id, "score": c.score} for c in self.candidates],
            "policy": self.policy,
            "wrap": [self.wrap_start, self.wrap_end],
            "offer": None if self.offer is None else self.offer.to_dict(),
            "number": self.number,
            "card_at": self.card_at,
            "offers": list(self.offers),
            "tied": list(self.tied),
            "tie_break": self.tie_break,
        }


@attrs.frozen
class Skip:
    """A mention of a catalog keyword that was left unlinked, and why."""

    start: int
    end: int
    mention: str
    keyword: str
    reason: SkipReason
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "start": self.start,
            "end": self.end,
            "mention": self.mention,
            "keyword": self.keyword,
            "reason": self.reason.value,
            "detail": self.detail,
        }


def apply_insertions(original: str, insertions: Iterable[Insertion]) -> str:
    """Return ``original`` with every insertion placed at its offset.

    Insertions must be sorted by ``at``; equal offsets keep their order.
    """
    parts: list[str] = []
    pos = 0
    for ins in insertions:
        parts.append(original[pos : ins.at])
        parts.append(ins.text)
        pos = ins.at
    parts.append(original[pos:])
    return "".join(parts)


@attrs.frozen
class LinkResult:
    """The answer with links, and everything needed to audit it.

    Attributes:
        original: the answer as given.
        text: the answer with the inserted markup.
        links: the inserted links, by position.
        skipped: mentions of catalog keywords that were not linked, by position.
        insertions: every inserted piece of markup, by offset in ``original``.
        style, format: the form the links were rendered in.
        verdicts: why links did not belong: the conversation's verdicts
            (query, earlier turns, an upstream moderation result), then,
            when the answer names a product, the answer's.  Empty when
            nothing was found.
    """

    original: str
    text: str
    links: tuple[Link, ...]
    skipped: tuple[Skip, ...]
    insertions: tuple[Insertion, ...]
    style: str = "inline"
    format: str = "markdown"
    verdicts: tuple[Verdict, ...] = ()

    def strip(self) -> str:
        """Remove every insertion from ``text``; equals ``original`` by design."""
        parts: list[str] = []
        pos = 0  # in text
        shift = 0  # len(text[:pos]) - len(original[:...]) so far
        for ins in self.insertions:
            out_at = ins.at + shift
            parts.append(self.text[pos:out_at])
            if self.text[out_at : out_at + len(ins.text)] != ins.text:
                raise ValueError(f"insertion at {ins.at} is not in the text")
            pos = out_at + len(ins.text)
            shift += len(ins.text)
        parts.append(self.text[pos:])
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The whole plan as JSON-ready data, for front ends that draw their own widgets."""
        return {
            "style": self.style,
            "format": self.format,
            "text": self.text,
            "links": [link.to_dict() for link in self.links],
            "skipped": [skip.to_dict() for skip in self.skipped],
            "insertions": [{"at": i.at, "text": i.text} for i in self.insertions],
            "verdicts": [
                {
                    "category": v.category,
                    "evidence": v.evidence,
                    "source": v.source,
                    "end": v.end,
                    "judge": v.judge,
                }
                for v in self.verdicts
            ],
        }
