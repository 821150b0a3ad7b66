"""Judgement: whether links belong in this conversation, this answer, to this product.

The stage between finding mentions and choosing products::

    query, earlier turns ──► ConversationJudge ─┐
    moderation result ─────► moderation_verdicts ┼─► Verdict ─► skipped (gated)
    answer so far ─────────► AnswerJudge ────────┘
    product profile ───────► ProductJudge ───────► Verdict ─► skipped (restricted)
    a mention's sentence ──► advice_in_block ────► cue ─────► skipped (advised_against)

``RuleJudge`` is the built-in judge (term lists and patterns, ``_gates``);
users add their own beside it or instead of it (``Linker(judges=...)``).
``Bench`` is what a linker holds: the judges sorted by what they judge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from .._exceptions import ConfigError
from .._model import RelevanceProfile
from ._gates import GATE_SCOPES, Gate, GateSet, GateTrip, GrowingAnswer, default_gates
from ._moderation import moderation_verdicts
from ._rules import RuleJudge
from ._verdict import (
    CONVERSATION_CATEGORIES,
    REGULATED_CATEGORIES,
    AnswerJudge,
    Conversation,
    ConversationJudge,
    ProductJudge,
    Turn,
    Verdict,
)

__all__ = [
    "CONVERSATION_CATEGORIES",
    "GATE_SCOPES",
    "REGULATED_CATEGORIES",
    "AnswerCheck",
    "AnswerJudge",
    "Bench",
    "Conversation",
    "ConversationJudge",
    "Gate",
    "GateSet",
    "GateTrip",
    "GrowingAnswer",
    "ProductJudge",
    "RuleJudge",
    "Turn",
    "Verdict",
    "default_gates",
    "moderation_verdicts",
]

#: One check of an answer as it grows: the verdicts on the text so far.
AnswerCheck = Callable[[str], list[Verdict]]

_CONVERSATION_CACHE = 256


def _name(judge: object) -> str:
    name = getattr(judge, "name", None)
    return name if isinstance(name, str) and name else type(judge).__name__


def _checked(verdicts: Iterable[Verdict], judge: object) -> list[Verdict]:
    out = []
    for v in verdicts:
        if not isinstance(v, Verdict):
            raise ConfigError(f"judge {_name(judge)} returned {type(v).__name__}, not a Verdict")
        out.append(v)
    return out


def _answer_check(judge: AnswerJudge) -> AnswerCheck:
    def check(text: str) -> list[Verdict]:
        return _checked(judge.judge_answer(text), judge)

    return check


class Bench:
    """The judges a linker consults, sorted by what each one judges.

    Args:
        judges: objects implementing any of ``ConversationJudge``,
            ``AnswerJudge`` and ``ProductJudge``.
        allow_regulated: product categories (``REGULATED_CATEGORIES``)
            the operator has cleared for linking.

    Raises:
        ConfigError: a judge implements none of the three protocols, or a
            category is not a regulated one.
    """

    def __init__(self, judges: Sequence[object], allow_regulated: Iterable[str] = ()) -> None:
        self.judges = tuple(judges)
        for judge in self.judges:
            if not isinstance(judge, (ConversationJudge, AnswerJudge, ProductJudge)):
                raise ConfigError(
                    f"{_name(judge)} is not a judge: it needs judge_conversation, "
                    "judge_answer or judge_product"
                )
        allowed = frozenset(allow_regulated)
        unknown = allowed.difference(REGULATED_CATEGORIES)
        if unknown:
            raise ConfigError(
                f"allow_regulated takes {', '.join(REGULATED_CATEGORIES)}; got {sorted(unknown)}"
            )
        self.allow_regulated = allowed
        self._conversation = [j for j in self.judges if isinstance(j, ConversationJudge)]
        self._answer = [j for j in self.judges if isinstance(j, AnswerJudge)]
        self._product = [j for j in self.judges if isinstance(j, ProductJudge)]
        self._conversations: dict[Conversation, tuple[Verdict, ...]] = {}
        self._products: dict[RelevanceProfile, Verdict | None] = {}

    def __bool__(self) -> bool:
        return bool(self.judges)

    @property
    def gates(self) -> tuple[Gate, ...]:
        """The gates of the built-in judges among them."""
        return tuple(g for j in self.judges if isinstance(j, RuleJudge) for g in j.gates)

    def conversation(
        self, conversation: Conversation, moderation: object = None
    ) -> tuple[Verdict, ...]:
        """Every verdict on the conversation: the moderation result's first, then the judges'."""
        upstream = moderation_verdicts(moderation)
        cache = self._conversations
        found = cache.get(conversation)
        if found is None:
            out: list[Verdict] = []
            for judge in self._conversation:
                out.extend(_checked(judge.judge_conversation(conversation), judge))
            found = tuple(out)
            if len(cache) >= _CONVERSATION_CACHE:
                cache.clear()
            cache[conversation] = found
        return (*upstream, *found)

    def answer_verdicts(self, text: str) -> list[Verdict]:
        """The answer judges' verdicts on a whole answer (``link``), earliest first."""
        out: list[Verdict] = []
        for judge in self._answer:
            if isinstance(judge, RuleJudge):
                if judge.looks_at_answers():
                    out.extend(judge.judge_answer(text))
            else:
                out.extend(_checked(judge.judge_answer(text), judge))
        out.sort(key=lambda v: v.end)
        return out

    def answer_check(self) -> AnswerCheck | None:
        """A check for one answer as it grows (None: no judge reads answers)."""
        checks: list[AnswerCheck] = []
        for judge in self._answer:
            if isinstance(judge, RuleJudge):
                if judge.looks_at_answers():
                    checks.append(judge.growing_answer().check)
            else:
                checks.append(_answer_check(judge))
        if not checks:
            return None
        if len(checks) == 1:
            return checks[0]

        def check(text: str) -> list[Verdict]:
            out = [v for c in checks for v in c(text)]
            out.sort(key=lambda v: v.end)
            return out

        return check

    def product(self, profile: RelevanceProfile) -> Verdict | None:
        """The first verdict on ``profile`` not cleared by ``allow_regulated``."""
        if not self._product:
            return None
        cache = self._products
        if profile in cache:
            return cache[profile]
        found: Verdict | None = None
        for judge in self._product:
            verdict = judge.judge_product(profile)
            if verdict is not None and verdict.category not in self.allow_regulated:
                found = verdict
                break
        if len(cache) >= 65536:
            cache.clear()
        cache[profile] = found
        return found
