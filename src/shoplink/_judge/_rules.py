"""The built-in judge: term lists and patterns over the conversation, the answer and products."""

from __future__ import annotations

from collections.abc import Iterable

from .._model import RelevanceProfile
from ._gates import Gate, GateSet, GrowingAnswer, default_gates
from ._verdict import Conversation, Verdict
from ._view import _t2s_table

__all__ = ["RuleJudge"]


class RuleJudge:
    """The built-in judge, on by default: gates (term lists and patterns).

    It reads the query and earlier user turns with the ``query`` gates,
    the answer and earlier assistant turns with the ``answer`` gates, and a
    product's category path with the ``product`` gates.  Text is folded
    first (traditional to simplified Chinese, separators between Chinese
    characters, case and width), and a term inside one of its gate's
    exceptions (笑死, "dead battery", "medicine ball") does not count.

    Args:
        gates: the gates to use; default ``default_gates()``.  Add
            ``Gate`` objects or extend the built-in ones
            (``Gate.extend`` returns a new gate).

    What it cannot know: anything not written in the conversation (a
    user's age they never state, a condition they only hint at in a way no
    term describes), and irony.  Pass an upstream moderation verdict
    (``link(..., moderation=...)``) or your own judge beside it for that.
    """

    #: Named in the receipts of its verdicts.
    name = "builtin"

    def __init__(self, gates: Iterable[Gate] | None = None) -> None:
        self.gates = tuple(default_gates() if gates is None else gates)
        self._set = GateSet(self.gates)
        _t2s_table()  # built once per process, here rather than at the first answer

    def __repr__(self) -> str:
        return f"RuleJudge({len(self.gates)} gates)"

    def judge_conversation(self, conversation: Conversation) -> list[Verdict]:
        """Verdicts on the query and on each earlier turn."""
        out = self._set.check_turn(conversation.query, "query", "query")
        for turn in conversation.history:
            looks = "query" if turn.role == "user" else "answer"
            out.extend(self._set.check_turn(turn.content, looks, "history"))
        return out

    def judge_answer(self, answer: str) -> list[Verdict]:
        """Verdicts on the answer, earliest first, each with its ``end``."""
        return self._set.check_answer(answer)

    def growing_answer(self) -> GrowingAnswer:
        """``judge_answer`` for one answer as it grows, scanning only new text (streams)."""
        return self._set.growing_answer()

    def judge_product(self, product: RelevanceProfile) -> Verdict | None:
        """The regulated category ``product``'s category path names, if any."""
        return self._set.check_product(product.category)

    def looks_at_answers(self) -> bool:
        """Whether some gate reads the answer (none: streams skip the scan)."""
        return self._set.looks_at("answer")
