"""Choosing a product for a mention, by relevance and nothing else.

The functions here receive ``RelevanceProfile`` values: product text and
stock state.  They cannot see prices, commissions or merchants, because those
are not on the type.  Ties go to the smallest product id.

Text is compared as bags of features: folded Latin words, and for Chinese
(which has no spaces) overlapping character bigrams plus single characters of
one-character runs.  Bigrams need no dictionary and catch 敏感 / 修护 / 美白
in titles and descriptions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import attrs

from ._model import RelevanceProfile
from ._text import fold

__all__ = ["POLICY_VERSION", "Choice", "Evidence", "Rejection", "choose", "features"]

#: Recorded on every link so that a decision can be traced to the rules that made it.
POLICY_VERSION = "relevance-1"

_WORD = re.compile(r"[^\W_]+")
_CJK_RUN = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]+"
)
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "best",
        "by",
        "for",
        "from",
        "good",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "my",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "what",
        "which",
        "with",
        "you",
        "your",
    ]
)


def features(text: str) -> frozenset[str]:
    """The relevance features of ``text``: folded words and CJK bigrams."""
    if not text:
        return frozenset()
    folded = fold(text).text
    out: set[str] = set()
    for match in _CJK_RUN.finditer(folded):
        run = match.group()
        if len(run) == 1:
            out.add(run)
        else:
            out.update(run[i : i + 2] for i in range(len(run) - 1))
    for word in _WORD.findall(_CJK_RUN.sub(" ", folded)):
        if word not in _STOP:
            out.add(word)
    return frozenset(out)


@attrs.frozen
class Choice:
    """The chosen product and every candidate's score, best first."""

    product_id: str
    scored: tuple[tuple[str, float], ...]


@attrs.frozen
class Rejection:
    """No product fits: ``reason`` is a ``SkipReason`` value."""

    reason: str
    detail: str


def _profile_features(profile: RelevanceProfile) -> frozenset[str]:
    return features(
        " ".join(
            (
                profile.title,
                profile.brand,
                profile.category,
                profile.description,
                " ".join(profile.keywords),
            )
        )
    )


def _mentions(terms: Iterable[str], haystack: str) -> bool:
    return any(fold(t).text in haystack for t in terms if t)


def score(profile: RelevanceProfile, query: frozenset[str], context: frozenset[str]) -> float:
    """Relevance of a product to the query and the mention's context.

    Overlap with the query counts double (it is what the user asked); the
    sum is divided by the square root of the product's feature count so that
    long descriptions do not win by sheer length.
    """
    own = _profile_features(profile)
    if not own:
        return 0.0
    hits = 2 * len(own & query) + len(own & context)
    return round(hits / math.sqrt(len(own)), 6)


@attrs.frozen
class Evidence:
    """Text that speaks for or against candidates: its features and folded form."""

    tokens: frozenset[str]
    folded: str

    @classmethod
    def of(cls, text: str) -> Evidence:
        """Compute the evidence of ``text`` once, to score many candidates."""
        return cls(features(text), fold(text).text)


def choose(
    profiles: Sequence[RelevanceProfile],
    *,
    query: Evidence,
    context: Evidence,
    exclude: frozenset[str] = frozenset(),
) -> Choice | Rejection:
    """Pick the most relevant purchasable product for one mention.

    Args:
        profiles: the candidates (every product whose keyword matched).
        query: evidence from the user's question.
        context: evidence from the text around the mention (its block).
        exclude: product ids already linked in this answer.

    Returns:
        ``Choice`` with the winner and the scores of every eligible
        candidate, best first (ties by product id), or ``Rejection`` saying
        why none fits.
    """
    eligible: list[RelevanceProfile] = []
    reasons: set[str] = set()
    for p in profiles:
        if not p.purchasable:
            reasons.add("out_of_stock")
        elif p.product_id in exclude:
            reasons.add("already_linked")
        elif (
            p.negative_terms
            and (
                _mentions(p.negative_terms, query.folded)
                or _mentions(p.negative_terms, context.folded)
            )
        ) or (
            p.context_terms
            and not (
                _mentions(p.context_terms, query.folded)
                or _mentions(p.context_terms, context.folded)
            )
        ):
            reasons.add("ambiguous")
        else:
            eligible.append(p)
    if not eligible:
        # Report the most telling reason: a product already linked explains
        # more than stock, and a vetoed ambiguous name more than both.
        for reason in ("ambiguous", "already_linked", "out_of_stock"):
            if reason in reasons:
                return Rejection(reason, f"{len(profiles)} candidate(s), none eligible")
        return Rejection("ambiguous", "no candidates")
    scored = sorted(
        ((p.product_id, score(p, query.tokens, context.tokens)) for p in eligible),
        key=lambda item: (-item[1], item[0]),
    )
    return Choice(scored[0][0], tuple(scored))
