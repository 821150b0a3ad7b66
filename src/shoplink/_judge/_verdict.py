"""What a judge says, and the shapes of the judges a user can plug in.

A *verdict* says that links do not belong somewhere: in this conversation
(a user in crisis, a minor, a medical question), from a point of the answer
on (the answer turned to a medical topic), or to this product (a drug, a
medical device, tobacco).  Judges return verdicts; the linker turns them
into skipped mentions whose receipts carry the verdict.

A judge is any object with one or more of three methods, each its own
``typing.Protocol`` so that a judge implements only what it looks at:

* ``judge_conversation(conversation)``: the user's query and the earlier
  turns; a verdict here blocks every link in the answer;
* ``judge_answer(answer)``: the answer as far as the linker may look; a
  verdict with ``end`` blocks the mentions whose block ends at or after it
  (``end`` must not move when the answer grows: a stream asks again as
  the answer arrives, and must decide as ``link()`` does);
* ``judge_product(profile)``: one product, by its money-free profile; a
  verdict keeps that product from being linked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, Protocol, runtime_checkable

import attrs

from .._model import RelevanceProfile

__all__ = [
    "CONVERSATION_CATEGORIES",
    "REGULATED_CATEGORIES",
    "AnswerJudge",
    "Conversation",
    "ConversationJudge",
    "ProductJudge",
    "Turn",
    "Verdict",
    "VerdictSource",
]

#: The conversation categories of the built-in judge: a user in crisis
#: (self-harm, suicide), a user who is a minor, a medical conversation;
#: and refusals (an answer that declines or gives a safety message).
CONVERSATION_CATEGORIES = ("self_harm", "minor", "medical", "refusal")

#: Product categories whose advertising is regulated (China's Advertising
#: Law requires prior review of drug, medical-device and health-food ads;
#: tobacco ads are banned in most media).  Products in them never link
#: unless ``Linker(allow_regulated=...)`` names the category.
REGULATED_CATEGORIES = ("drug", "medical_device", "health_food", "tobacco")

#: Where a verdict's evidence was found.
VerdictSource = Literal["query", "history", "answer", "moderation", "product"]


@attrs.frozen
class Verdict:
    """A judge's finding that links do not belong here.

    Attributes:
        category: what was found (``"self_harm"``, ``"minor"``,
            ``"medical"``, ``"drug"``, or a moderation category).
        evidence: the words that tripped it, as written (or the upstream
            flag).
        source: ``"query"``, ``"history"`` (an earlier turn), ``"answer"``,
            ``"moderation"`` (an upstream verdict) or ``"product"``.
        end: for the answer, the offset just past the evidence: mentions
            whose block ends at or after it are blocked.
        judge: which judge said so (``"builtin"`` for the default one).
        rule: the built-in judge's term or pattern (``re:...``) that
            matched, when it differs from the evidence.
    """

    category: str
    evidence: str
    source: str
    end: int = 0
    judge: str = "builtin"
    rule: str = ""

    @property
    def gate(self) -> str:
        """The category (the name this value had as ``GateTrip``)."""
        return self.category

    @property
    def term(self) -> str:
        """The term or pattern that matched (the name this value had as ``GateTrip``)."""
        return self.rule or self.evidence

    def describe(self) -> str:
        """The receipt's detail: ``medical: '布洛芬' in the query``."""
        where = {
            "query": "the query",
            "history": "an earlier turn",
            "moderation": "the moderation verdict",
            "product": "the product's category",
        }.get(self.source, f"the answer at {self.end}")
        who = "" if self.judge == "builtin" else f" (judge {self.judge})"
        return f"{self.category}: {self.evidence!r} in {where}{who}"


@attrs.frozen
class Turn:
    """One earlier turn of the conversation.

    Attributes:
        role: ``"user"`` or ``"assistant"``.
        content: its text.
    """

    role: Literal["user", "assistant"]
    content: str


@attrs.frozen
class Conversation:
    """What a conversation judge sees: the query and the turns before it.

    Attributes:
        query: the user's latest message ("" when unknown).
        history: earlier turns, oldest first.
    """

    query: str
    history: tuple[Turn, ...] = ()


@runtime_checkable
class ConversationJudge(Protocol):
    """Judges the conversation: a verdict blocks every link in the answer."""

    def judge_conversation(self, conversation: Conversation) -> Iterable[Verdict]:
        """The verdicts on ``conversation`` (none: links may appear)."""
        ...


@runtime_checkable
class AnswerJudge(Protocol):
    """Judges the answer: a verdict blocks mentions from its block on.

    Each verdict's ``end`` must stay where it is when the answer grows
    (a stream asks at every closed block, ``link()`` once).
    """

    def judge_answer(self, answer: str) -> Iterable[Verdict]:
        """The verdicts on ``answer``, each with its ``end``."""
        ...


@runtime_checkable
class ProductJudge(Protocol):
    """Judges a product: a verdict keeps it from being linked."""

    def judge_product(self, product: RelevanceProfile) -> Verdict | None:
        """The verdict on ``product``, or None if it may be linked."""
        ...
