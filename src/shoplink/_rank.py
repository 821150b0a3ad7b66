"""Choosing a product for a mention, by relevance and nothing else.

The functions here receive ``RelevanceProfile`` values: product text and
stock state.  They cannot see prices, commissions, merchants or which shop
is the operator's own, because those are not on the type.  Candidates are
listed by score, then by a hash of the product id (``tie_key``); an exact
tie for the best score is won in turn, by a hash of the query, mention and
block (``tie_pick``), so that no product id wins every tie.

How a candidate is scored (policy ``relevance-3``: relevance-2's scores,
exact ties rotated; ``docs/safety.md`` has the measurement that chose it):

* Text becomes a bag of features: folded Latin words, and for Chinese
  (written without spaces) overlapping character bigrams, plus the single
  character of a one-character run.  Bigrams need no dictionary and catch
  敏感 / 修护 / 美白 in titles and descriptions; on the labelled set in
  ``tests/data/relevance`` they did as well as a jieba segmentation, which
  would add a 20 MB dependency and a second of start-up.
* A clause that is negated (不是机械键盘, 不适合泥地越野, "not for mud",
  先别用美白产品) contributes nothing: shop descriptions say what a product is
  *not* for, and answers say what to avoid.
* Evidence is weighted by where it is: the user's query most, then the
  sentence that holds the mention, then the rest of the mention's block.
* Each shared feature is weighted by how well it tells the candidates apart
  (inverse document frequency over the candidate set): 面膜 is in every
  mask's text and says nothing, 敏感 is in a few and says a lot.
* The score is divided by the square root of the number of the product's
  features, so that a long description does not win by sheer length.
* A candidate whose own title contains the matched keyword gets a small
  bonus: the shop itself calls it by that name (keyword specificity).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import math
import operator
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet

import attrs

from ._model import RelevanceProfile
from ._text import fold_text

__all__ = [
    "POLICY_VERSION",
    "Choice",
    "Evidence",
    "Rejection",
    "choose",
    "features",
    "score",
    "sentence_ends",
    "sentence_span",
    "tie_pick",
]

#: Recorded on every link so that a decision can be traced to the rules that made it.
POLICY_VERSION = "relevance-3"

# Where a feature was seen, and how much that counts.  The query is what the
# user asked; the sentence is what the answer says about this very mention;
# the block (paragraph, list item, table) is looser context.
QUERY_WEIGHT = 3.0
SENTENCE_WEIGHT = 2.0
BLOCK_WEIGHT = 1.0
# Bonus, in the same units as one block-level feature, for a candidate whose
# title contains the matched keyword.
TITLE_KEYWORD_BONUS = 0.5

_WORD = re.compile(r"[^\W_]+")
_CJK_CHARS = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
_CJK_RUN = re.compile(f"[{_CJK_CHARS}]+")
# Clauses end at CJK and Latin clause punctuation; a "." only when it ends a
# sentence, so that "MX 3.0S" stays one clause.
# From this many characters of non-negated clauses on, bigram features are
# looked up in a set of the text's character pairs instead of searched for.
_PAIRS_FROM = 1024
_CLAUSE = re.compile(r"[，,。；;！!？?\n|]|\.(?=\s|$)|\bbut\b")
# Cues that make a clause say what something is NOT (or what to avoid).
# Chinese cues are bound phrases: a bare 不 is in 不错 ("good") and 不少.
_CUES_ZH = (
    "不是",
    "不主打",
    "不适合",
    "不太适合",
    "不含",
    "不建议",
    "不要",
    "不用",
    "不宜",
    "别用",
    "先别",
    "别急",
    "避开",
    "避免",
    "暂停",
    "无需",
    "并非",
)
_NEGATION = re.compile(
    "|".join(_CUES_ZH) + r"|\b(?:not|no|avoid|never|without|instead of|rather than)\b|n't\b"
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


def _bigrams(run: str) -> Iterable[str]:
    """The features of one run of CJK characters: its overlapping bigrams."""
    if len(run) == 1:
        return (run,)
    return map(operator.add, run, run[1:])


# What a CJK run yields; benchmarks/relevance_accuracy.py tries others.
_cjk_grams = _bigrams


# ``_WORD.findall(_CJK_RUN.sub(" ", text))`` in one pass: a word character
# that is not CJK (a CJK run, blanked there, ends a word here too).
_WORD_OUTSIDE_CJK = re.compile(f"[^\\W_{_CJK_CHARS}]+")


def _clause_features(clause: str, out: set[str]) -> None:
    """Add the CJK features and the words of ``clause`` (stop words included)."""
    for run in _CJK_RUN.findall(clause):
        out.update(_cjk_grams(run))
    out.update(_WORD.findall(_CJK_RUN.sub(" ", clause)))


# Every negation cue holds one of these: the Chinese cues themselves, and a
# part of each English one (lower case).
_NEGATION_HINTS = (*_CUES_ZH, "no", "never", "avoid", "without", "instead", "rather", "n't")


# Where one of the hints occurs: one pass over the text instead of a
# substring search per hint.  (``re.IGNORECASE`` would spare the ``lower()``
# but makes the search five times slower.)
_HINT = re.compile("|".join(map(re.escape, _NEGATION_HINTS)))


def _negated(folded: str) -> bool:
    """``_NEGATION.search(folded)``, with a fast answer for text holding no cue at all."""
    if _HINT.search(folded) is None:
        return False
    return _NEGATION.search(folded) is not None




def features(text: str) -> frozenset[str]:
    """The relevance features of ``text``: folded words and CJK bigrams.

    Clauses with a negation cue (不是, 不适合, 避免, "not", "avoid", ...)
    are left out: they say what the text is not about.
    """
    if not text:
        return frozenset()
    return _folded_features(fold_text(text))


def _folded_features(folded: str) -> frozenset[str]:
    out: set[str] = set()
    if "but" not in folded and not _negated(folded):
        # No clause is negated, so the clauses together give what the whole
        # text gives: no feature spans clause punctuation.
        _clause_features(folded, out)
    else:
        for clause in _CLAUSE.split(folded):
            if clause and not _NEGATION.search(clause):
                _clause_features(clause, out)
    # Stop words are ASCII words; no CJK bigram is one.
    out.difference_update(_STOP)
    return frozenset(out)


@attrs.frozen
class Choice:
    """The chosen product and every candidate's score, best first.

    ``tied``: when several candidates share the best score exactly, their
    ids in ``tie_key`` order (else empty); ``tie_break`` says how the winner
    among them was picked (``tie_pick``).
    """

    product_id: str
    scored: tuple[tuple[str, float], ...]
    tied: tuple[str, ...] = ()
    tie_break: str = ""


@attrs.frozen
class Rejection:
    """No product fits: ``reason`` is a ``SkipReason`` value."""

    reason: str
    detail: str


@functools.lru_cache(maxsize=8192)
def _profile_features(profile: RelevanceProfile) -> frozenset[str]:
    return features(
        "\n".join(
            (
                profile.title,
                profile.brand,
                profile.category,
                profile.description,
                "\n".join(profile.keywords),
            )
        )
    )


def _clear_caches() -> None:
    """Forget every cached product feature (after changing how features are made)."""
    _profile_features.cache_clear()
    _profile_kinds.cache_clear()
    _folded_title.cache_clear()
    _prepared.cache_clear()
    _union.cache_clear()
    _idf_of.cache_clear()


@functools.lru_cache(maxsize=8192)
def _folded_title(profile: RelevanceProfile) -> str:
    return fold_text(profile.title)


# The last text ``Evidence.of`` folded whose folding kept its length, with
# its folded form.  A mention's sentence lies inside its block, whose
# evidence is made just before.  Folding goes code point by code point;
# when a text folds to the same length, each code point folded to exactly
# one, so any part of the text folds to the same part of its folded form.
# One entry, replaced whole (threads can only miss it, never get a wrong
# slice).
_last_fold: list[tuple[str, str]] = [("", "")]


class Evidence:
    """Text that speaks for or against candidates: its folded form and features.

    The feature set (``tokens``) is made only if asked for: scoring asks
    ``has`` about a candidate's own features, and a CJK bigram is a feature
    of the text exactly when it occurs in the text's non-negated clauses,
    which a substring search answers without building every bigram.
    """

    __slots__ = ("_pairs", "_plain", "_singles", "_tokens", "_words", "folded")

    def __init__(self, folded: str) -> None:
        self.folded = folded
        self._plain: str | None = None
        self._pairs: str | frozenset[str] | None = None
        self._tokens: frozenset[str] | None = None
        self._words: frozenset[str] | None = None
        self._singles: frozenset[str] | None = None

    @classmethod
    def of(cls, text: str) -> Evidence:
        """The evidence of ``text``, to score many candidates."""
        if isinstance(text, str):
            raw, folded = _last_fold[0]
            if len(text) < len(raw):
                at = raw.find(text)
                if at >= 0:
                    return cls(folded[at : at + len(text)])
            folded = fold_text(text)
            if len(folded) == len(text):
                _last_fold[0] = (text, folded)
            return cls(folded)
        return cls(fold_text(text))

    @property
    def tokens(self) -> frozenset[str]:
        """Every feature of the text (``features``)."""
        if self._tokens is None:
            self._tokens = _folded_features(self.folded) if self.folded else frozenset()
        return self._tokens

    def _clauses(self) -> str:
        """The non-negated clauses, one per line (the whole text if none is negated)."""
        if self._plain is None:
            folded = self.folded
            if "but" not in folded and not _negated(folded):
                self._plain = folded
            else:
                self._plain = "\n".join(
                    c for c in _CLAUSE.split(folded) if c and not _NEGATION.search(c)
                )
        return self._plain

    def _bigrams_in(self) -> str | frozenset[str]:
        """What holds a CJK bigram feature exactly when the non-negated clauses do.

        The clauses themselves (a substring search) while they are short;
        past ``_PAIRS_FROM`` characters the set of their character pairs,
        made once: a block of a huge answer is asked about every mention in
        it, and searching it each time cost time quadratic in its length.
        """
        if self._pairs is None:
            plain = self._clauses()
            if len(plain) <= _PAIRS_FROM:
                self._pairs = plain
            else:
                self._pairs = frozenset(map(operator.add, plain, plain[1:]))
        return self._pairs

    def _single_set(self) -> frozenset[str]:
        """The one-character CJK runs of the non-negated clauses (features of kind ``_SINGLE``)."""
        if self._singles is None:
            self._singles = frozenset(r for r in _CJK_RUN.findall(self._clauses()) if len(r) == 1)
        return self._singles

    def _word_set(self) -> frozenset[str]:
        """The words of the non-negated clauses, stop words included (kind ``_WORD_KIND``)."""
        if self._words is None:
            self._words = frozenset(_WORD_OUTSIDE_CJK.findall(self._clauses()))
        return self._words

    def has(self, feature: str, kind: int) -> bool:
        """Whether ``feature`` is one of ``tokens``; ``kind``: see ``_profile_kinds``."""
        if kind == _BIGRAM:
            # Two CJK characters next to each other lie in one CJK run of
            # one clause (no separator is CJK), and each such pair is a bigram.
            return feature in self._bigrams_in()
        if kind == _SINGLE:
            return feature in self._single_set()
        if kind == _WORD_KIND:
            return feature in self._word_set()
        return feature in self.tokens

    def _count(self, own: _Kinds) -> int:
        """``len(self._present(own))``, without making the list."""
        if not self.folded:
            return 0
        n = 0
        if own.bigrams:
            n = sum(map(self._bigrams_in().__contains__, own.bigrams))
        if own.singles:
            n += len(own.singles & self._single_set())
        if own.words:
            n += len(own.words & self._word_set())
        if own.others:
            n += len(own.others & self.tokens)
        return n

    def _present(self, own: _Kinds) -> list[str]:
        """The features of ``own`` that this text has (``own``'s features in ``tokens``).

        What ``has`` answers feature by feature, for a whole candidate at
        once: one C-level pass per kind instead of a call per feature.
        """
        if not self.folded:
            return []  # no text, no feature (``tokens`` is empty)
        out: list[str] = []
        if own.bigrams:
            pairs = self._bigrams_in()
            out.extend(itertools.compress(own.bigrams, map(pairs.__contains__, own.bigrams)))
        if own.singles:
            out.extend(own.singles & self._single_set())
        if own.words:
            out.extend(own.words & self._word_set())
        if own.others:
            out.extend(own.others & self.tokens)
        return out


_EMPTY = Evidence("")

# Kinds of feature, for ``Evidence.has``.
_BIGRAM, _SINGLE, _WORD_KIND, _OTHER = 0, 1, 2, 3


@functools.lru_cache(maxsize=8192)
def _profile_kinds(profile: RelevanceProfile) -> tuple[tuple[str, int], ...]:
    """A candidate's features, each with its kind (for ``Evidence.has``)."""
    if _cjk_grams is not _bigrams:  # an experiment (benchmarks/relevance_accuracy.py)
        return tuple((f, _OTHER) for f in _profile_features(profile))
    out = []
    for feature in _profile_features(profile):
        if _CJK_RUN.fullmatch(feature):
            out.append((feature, _BIGRAM if len(feature) == 2 else _SINGLE))
        else:
            out.append((feature, _WORD_KIND))
    return tuple(out)


class _Kinds:
    """Features grouped by kind, the way ``Evidence._present`` asks about them."""

    __slots__ = ("bigrams", "others", "singles", "words")

    def __init__(self, kinds: Iterable[tuple[str, int]]) -> None:
        groups: tuple[list[str], list[str], list[str], list[str]] = ([], [], [], [])
        for feature, kind in kinds:
            groups[kind].append(feature)
        self.bigrams = tuple(groups[_BIGRAM])
        self.singles = frozenset(groups[_SINGLE])
        self.words = frozenset(groups[_WORD_KIND])
        self.others = frozenset(groups[_OTHER])


class _Prepared(_Kinds):
    """What ``choose`` needs of one candidate, worked out once per product.

    Everything here is a function of the profile alone (its text), so it is
    cached with the profile as the key, like ``_profile_features``.
    """

    __slots__ = ("context", "features", "negative", "product_id", "root", "tie", "title")

    def __init__(self, profile: RelevanceProfile) -> None:
        super().__init__(_profile_kinds(profile))
        self.product_id = profile.product_id
        self.features = _profile_features(profile)
        self.root = math.sqrt(len(self.features))
        self.title = _folded_title(profile)
        self.tie = tie_key(profile.product_id)
        # Terms with their folded form; terms that fold to nothing never match.
        self.negative = _folded_terms(profile.negative_terms)
        self.context = _folded_terms(profile.context_terms)


def _folded_terms(terms: Iterable[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for term in terms:
        folded = fold_text(term) if term else ""
        if folded:
            out.append((term, folded))
    return tuple(out)


def _mentioned_folded(terms: tuple[tuple[str, str], ...], haystack: str) -> str | None:
    """The first of ``terms`` (folded in advance by ``_folded_terms``) found in ``haystack``."""
    for term, folded in terms:
        if folded in haystack:
            return term
    return None


@functools.lru_cache(maxsize=8192)
def _prepared(profile: RelevanceProfile) -> _Prepared:
    return _Prepared(profile)


def score(
    profile: RelevanceProfile,
    weights: dict[str, float],
    *,
    idf: dict[str, float] | None = None,
    keyword: str = "",
) -> float:
    """Relevance of one product, given weighted evidence features.

    Args:
        profile: the candidate.
        weights: feature -> weight of the place it was seen (query,
            sentence, block).
        idf: feature -> how well it separates the candidates; 1 if absent.
        keyword: the folded keyword that matched, for the title bonus.
    """
    return _score(_prepared(profile), weights, idf, keyword)


def _score(
    own: _Prepared, weights: dict[str, float], idf: dict[str, float] | None, keyword: str
) -> float:
    """``score`` of a prepared candidate."""
    if not own.features:
        return 0.0
    hits = 0.0
    # The order of this sum is the order of ``own.features & weights.keys()``
    # (the candidate's own feature order): kept, so that no float rounds
    # differently from one release to the next.
    for feature in own.features & weights.keys():
        hits += weights[feature] * (1.0 if idf is None else idf.get(feature, 1.0))
    total = hits / own.root
    if keyword and keyword in own.title:
        total += TITLE_KEYWORD_BONUS / own.root
    return round(total, 6)


# Whole place weights below this, counted for fewer than ``_EXACT_COUNT``
# features, add up exactly in a float (below 2**53), in any order.
_EXACT_WEIGHT = 2.0**30
_EXACT_COUNT = 2**20


@functools.lru_cache(maxsize=4)
def _whole(*weights: float) -> bool:
    """Whether the place weights are whole numbers that add up exactly (``_EXACT_WEIGHT``)."""
    return all(float(w).is_integer() and abs(w) < _EXACT_WEIGHT for w in weights)


def _score_alone(
    own: _Prepared, query: Evidence, sentence: Evidence, block: Evidence, keyword: str
) -> float | None:
    """``score`` of the only eligible candidate (no idf), or None to take the general path.

    With one candidate every weight counts once per place that has the
    feature, so the hits are ``BLOCK_WEIGHT * (features in the block) +
    ...``.  That is the very float ``score`` sums when the place weights are
    whole numbers (every partial sum is then exact); otherwise None.
    """
    if not _whole(BLOCK_WEIGHT, SENTENCE_WEIGHT, QUERY_WEIGHT):
        return None
    if not own.features:
        return 0.0
    if len(own.features) >= _EXACT_COUNT:
        return None
    hits = (
        BLOCK_WEIGHT * block._count(own)
        + SENTENCE_WEIGHT * sentence._count(own)
        + QUERY_WEIGHT * query._count(own)
    )
    total = hits / own.root
    if keyword and keyword in own.title:
        total += TITLE_KEYWORD_BONUS / own.root
    return round(total, 6)


def _evidence_weights(
    query: Evidence, sentence: Evidence, block: Evidence, candidates: Sequence[RelevanceProfile]
) -> dict[str, float]:
    """Feature -> summed weight of the places it was seen, for the candidates' own features.

    Only features some candidate has can count in ``score``, and a product
    has far fewer of them than a block of text has.
    """
    return _weights(query, sentence, block, [_prepared(p) for p in candidates])


def _weights(
    query: Evidence, sentence: Evidence, block: Evidence, candidates: Sequence[_Prepared]
) -> dict[str, float]:
    """``_evidence_weights`` of prepared candidates."""
    union = candidates[0] if len(candidates) == 1 else _union(tuple(candidates))
    # Added place by place in the order block, sentence, query, each from
    # 0.0, as a feature-by-feature sum would.
    weights: dict[str, float] = dict.fromkeys(block._present(union), 0.0 + BLOCK_WEIGHT)
    for place, weight in ((sentence, SENTENCE_WEIGHT), (query, QUERY_WEIGHT)):
        for feature in place._present(union):
            weights[feature] = weights.get(feature, 0.0) + weight
    return {f: w for f, w in weights.items() if w}


# The same keyword brings the same candidates mention after mention: their
# union and idf are kept, keyed by the prepared candidates (compared by
# identity: ``_prepared`` gives one object per profile while it is cached).


@functools.lru_cache(maxsize=1024)
def _union(candidates: tuple[_Prepared, ...]) -> _Kinds:
    """Every feature of the candidates, by kind (each once)."""
    union = _Kinds(())
    union.bigrams = tuple(dict.fromkeys(f for c in candidates for f in c.bigrams))
    union.singles = frozenset().union(*(c.singles for c in candidates))
    union.words = frozenset().union(*(c.words for c in candidates))
    union.others = frozenset().union(*(c.others for c in candidates))
    return union


def _idf(profiles: Sequence[RelevanceProfile]) -> dict[str, float]:
    """Feature -> how well it separates ``profiles`` (a shared dict: not to be changed)."""
    return _idf_of(tuple(map(_prepared, profiles)))


@functools.lru_cache(maxsize=1024)
def _idf_of(candidates: tuple[_Prepared, ...]) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for c in candidates:
        counts.update(c.features)
    n = len(candidates)
    # +1 inside keeps a feature that every candidate shares above zero, so a
    # single candidate still gets a meaningful score in its receipt.
    return {f: math.log(1.0 + n / df) for f, df in counts.items()}


def choose(
    profiles: Sequence[RelevanceProfile],
    *,
    query: Evidence,
    context: Evidence,
    sentence: Evidence | None = None,
    keyword: str = "",
    exclude: AbstractSet[str] = frozenset(),
    tie_salt: str | None = None,
) -> Choice | Rejection:
    """Pick the most relevant purchasable product for one mention.

    Args:
        profiles: the candidates (every product whose keyword matched).
        query: evidence from the user's question.
        context: evidence from the mention's block (paragraph, list item,
            table); context terms may appear anywhere in it.
        sentence: evidence from the sentence that holds the mention
            (weighted above the rest of the block).
        keyword: the folded keyword that matched.
        exclude: product ids already linked in this answer.
        tie_salt: what an exact tie for the best score is broken by
            (``tie_pick``): the linker passes the query, the mention and its
            block, none of which a catalog controls.  None: the lowest
            ``tie_key`` wins, as the rest of the ranking is ordered.

    Returns:
        ``Choice`` with the winner and the scores of every eligible
        candidate, best first (ties by ``tie_key``, the winner of a tie
        first), or ``Rejection`` saying why none fits.
    """
    sentence = sentence if sentence is not None else _EMPTY
    eligible: list[RelevanceProfile] = []
    prepared: list[_Prepared] = []
    reasons: dict[str, str] = {}
    for p in profiles:
        if not p.purchasable:
            reasons.setdefault("out_of_stock", p.product_id)
            continue
        if p.product_id in exclude:
            reasons.setdefault("already_linked", p.product_id)
            continue
        own = _prepared(p)
        if own.negative:
            veto = _mentioned_folded(own.negative, query.folded) or _mentioned_folded(
                own.negative, context.folded
            )
            if veto is not None:
                reasons.setdefault("ambiguous", f"{p.product_id} vetoed by {veto!r}")
                continue
        if p.context_terms and (
            _mentioned_folded(own.context, query.folded) is None
            and _mentioned_folded(own.context, context.folded) is None
        ):
            reasons.setdefault("ambiguous", f"{p.product_id}: no context term nearby")
            continue
        eligible.append(p)
        prepared.append(own)
    if not eligible:
        # Report the most telling reason: a vetoed or unsupported ambiguous
        # name explains more than a product already linked, and that more
        # than stock.
        for reason in ("ambiguous", "already_linked", "out_of_stock"):
            if reason in reasons:
                return Rejection(
                    reason, f"{len(profiles)} candidate(s), none eligible; {reasons[reason]}"
                )
        return Rejection("ambiguous", "no candidates")
    if len(prepared) == 1:
        alone = _score_alone(prepared[0], query, sentence, context, keyword)
        if alone is not None:
            return Choice(prepared[0].product_id, ((prepared[0].product_id, alone),))
    weights = _weights(query, sentence, context, prepared)
    idf = _idf(eligible) if len(eligible) > 1 else None
    ranked = sorted(
        ((own, _score(own, weights, idf, keyword)) for own in prepared),
        key=lambda item: (-item[1], item[0].tie),
    )
    best = ranked[0][1]
    k = 1
    while k < len(ranked) and ranked[k][1] == best:
        k += 1
    if k == 1 or tie_salt is None:
        return Choice(ranked[0][0].product_id, tuple((own.product_id, s) for own, s in ranked))
    pick, how = tie_pick(tie_salt, k)
    tied = tuple(own.product_id for own, _ in ranked[:k])
    ranked.insert(0, ranked.pop(pick))
    return Choice(
        ranked[0][0].product_id,
        tuple((own.product_id, s) for own, s in ranked),
        tied=tied,
        tie_break=f"{k}-way tie at score {best}; {how}",
    )


def tie_pick(salt: str, k: int) -> tuple[int, str]:
    """Which of ``k`` exactly tied candidates wins (0-based, in ``tie_key`` order), and why.

    The winner's place is ``sha256(salt) mod k``: the salt is the query,
    the mention and its block, so across answers each place wins about
    ``1/k`` of the ties, and no product id (a catalog builder's choice)
    can win them all.  Deterministic: the same answer links the same way.
    """
    digest = hashlib.sha256(salt.encode("utf-8", "surrogatepass")).digest()
    number = int.from_bytes(digest[:8], "big")
    pick = number % k
    return pick, (
        f"rotated by sha256 of query, mention and block ({number:016x} mod {k} = {pick})"
    )


def tie_key(product_id: str) -> tuple[str, str]:
    """The order in which equally relevant products win: by a hash of the id.

    Plain id order would be neutral only if ids were: catalogs often prefix
    ids with the shop (``dy-…``, ``jd-…``), and sorted ids would then hand
    every tie to the same shop, house shop included.  A hash of the id is as
    stable and as checkable (anyone can recompute it) but carries no order
    of the merchants.  The id itself settles the (astronomically unlikely)
    case of equal hashes.
    """
    digest = hashlib.sha256(product_id.encode("utf-8", "surrogatepass")).hexdigest()
    return digest, product_id


# A sentence ends at CJK or Latin end punctuation or a line break (a table
# row, a list line); a "." only before a space, so "3.0S" and URLs hold.
_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?=\s)")


def sentence_ends(text: str, block: tuple[int, int]) -> list[int]:
    """Where each sentence break in ``block`` of ``text`` ends, in order (for ``sentence_span``)."""
    lo, hi = max(0, block[0]), min(len(text), block[1])
    return [m.end() for m in _SENTENCE_END.finditer(text, lo, hi)]


def sentence_span(
    text: str,
    block: tuple[int, int],
    start: int,
    end: int,
    ends: Sequence[int] | None = None,
) -> tuple[int, int]:
    """The sentence of ``text`` that holds ``[start, end)``, within ``block``.

    Only the block is searched, so the result never depends on text after
    the block: a streaming linker can compute it as soon as the block ends.
    ``ends``: ``sentence_ends(text, block)``, for many mentions in one block
    (searching the block for each of them costs time quadratic in a long
    block's length).
    """
    lo, hi = block
    lo = max(0, min(lo, start))
    hi = min(len(text), max(hi, end))
    if ends is not None and lo == max(0, block[0]) and hi == min(len(text), block[1]):
        # The last break ending at or before ``start`` (a "." ending there
        # is no break: what follows it, ``start``, is not read before
        # ``start``), and the first one starting at or after ``end``.
        i = bisect.bisect_right(ends, start)
        if i and ends[i - 1] == start and text[start - 1] == ".":
            i -= 1
        j = bisect.bisect_left(ends, end + 1)
        return (ends[i - 1] if i else lo), (ends[j] if j < len(ends) else hi)
    s = lo
    for m in _SENTENCE_END.finditer(text, lo, start):
        s = m.end()
    stop = _SENTENCE_END.search(text, end, hi)
    e = stop.end() if stop else hi
    return s, e
