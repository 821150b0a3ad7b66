"""Audit: run a set of question/answer pairs and report what a trust review asks.

Per answer: links, and mentions left unlinked by reason (gated, capped,
ambiguous, out of stock, in code, ...).  Over the set: the share of links
per merchant, with the operator's own shop marked, so that anyone can see
at a glance whether the house shop gets more than its share.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

import attrs

from ._exceptions import AnswerError
from ._linker import Linker
from ._rank import POLICY_VERSION

__all__ = ["AuditReport", "QAPair", "audit", "load_qa"]

_BAR = 30


def _width(text: str) -> int:
    # Terminal columns: CJK characters take two.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


@attrs.frozen
class QAPair:
    """One user question and the assistant's answer to it."""

    id: str
    query: str
    answer: str


def load_qa(path: str | os.PathLike[str]) -> list[QAPair]:
    """Read a JSON Lines file of ``{"id", "query", "answer"}`` objects.

    ``id`` is optional (default: ``line-N``); ``query`` may be empty.

    Raises:
        AnswerError: the file cannot be read, or a line is bad; the message
            is ``PATH:LINE: field: reason``.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise AnswerError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out: list[QAPair] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise AnswerError(f"{name}:{number}: line: not valid UTF-8") from None
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AnswerError(f"{name}:{number}: line: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise AnswerError(f"{name}:{number}: line: expected a JSON object")
        answer = row.get("answer")
        if not isinstance(answer, str):
            what = "missing" if answer is None else f"must be a string, got {type(answer).__name__}"
            raise AnswerError(f"{name}:{number}: answer: {what}")
        query = row.get("query", "")
        if query is None:
            query = ""
        if not isinstance(query, str):
            raise AnswerError(
                f"{name}:{number}: query: must be a string, got {type(query).__name__}"
            )
        ident = row.get("id", f"line-{number}")
        if not isinstance(ident, (str, int)) or isinstance(ident, bool):
            raise AnswerError(f"{name}:{number}: id: must be a string")
        out.append(QAPair(str(ident), query, answer))
    return out


@attrs.frozen
class AuditRow:
    """What linking did to one answer."""

    id: str
    query: str
    links: int
    merchants: tuple[tuple[str, int], ...]
    skipped: tuple[tuple[str, int], ...]
    gates: tuple[str, ...]  # the verdict categories that blocked mentions
    # Every verdict category the judgement found for the answer (the
    # conversation's even when no product is named; regulated products).
    verdicts: tuple[str, ...] = ()


@attrs.frozen
class AuditReport:
    """The result of ``audit``: per-answer rows and totals.

    Attributes:
        rows: one per question/answer pair, in input order.
        merchants: merchant id -> (display name, is house shop), for every
            merchant in the catalog.
        policy: the ranking policy version that made the choices.
    """

    rows: tuple[AuditRow, ...]
    merchants: dict[str, tuple[str, bool]]
    policy: str = POLICY_VERSION

    @property
    def links(self) -> int:
        """Links over all answers."""
        return sum(r.links for r in self.rows)

    def links_by_merchant(self) -> dict[str, int]:
        """Merchant id -> links, every catalog merchant included (0 if none)."""
        counts: Counter[str] = Counter({m: 0 for m in self.merchants})
        for row in self.rows:
            counts.update(dict(row.merchants))
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def skipped_by_reason(self) -> dict[str, int]:
        """Skip reason -> mentions left unlinked for it, over all answers."""
        counts: Counter[str] = Counter()
        for row in self.rows:
            counts.update(dict(row.skipped))
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def verdicts_by_category(self) -> dict[str, int]:
        """Verdict category -> answers in which the judgement found it."""
        counts: Counter[str] = Counter()
        for row in self.rows:
            counts.update(set(row.verdicts))
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: rows, totals, merchant shares and verdicts."""
        total = self.links
        return {
            "policy": self.policy,
            "answers": len(self.rows),
            "links": total,
            "rows": [
                {
                    "id": r.id,
                    "query": r.query,
                    "links": r.links,
                    "merchants": dict(r.merchants),
                    "skipped": dict(r.skipped),
                    "gates": list(r.gates),
                    "verdicts": list(r.verdicts),
                }
                for r in self.rows
            ],
            "merchants": [
                {
                    "id": m,
                    "name": self.merchants.get(m, (m, False))[0],
                    "house": self.merchants.get(m, (m, False))[1],
                    "links": n,
                    "share": round(n / total, 4) if total else 0.0,
                }
                for m, n in self.links_by_merchant().items()
            ],
            "skipped": self.skipped_by_reason(),
            "verdicts": self.verdicts_by_category(),
        }

    def render(self) -> str:
        """A plain-text report a person can read at a glance."""
        lines: list[str] = []
        width = max([len(r.id) for r in self.rows] + [2])
        lines.append(f"shoplink audit · {len(self.rows)} answer(s) · policy {self.policy}")
        lines.append("")
        lines.append(f"{'id':<{width}}  links  not linked (by reason)")
        for r in self.rows:
            row_skips = ", ".join(f"{reason} {n}" for reason, n in r.skipped) or "-"
            gate = f"   [gated: {', '.join(r.gates)}]" if r.gates else ""
            lines.append(f"{r.id:<{width}}  {r.links:>5}  {row_skips}{gate}")
        lines.append("")
        total = self.links
        per = total / len(self.rows) if self.rows else 0.0
        lines.append(f"links: {total} in {len(self.rows)} answer(s), {per:.1f} per answer")
        lines.append("")
        lines.append("share of links per merchant (■ house shop, □ third party):")
        by_merchant = self.links_by_merchant()
        name_width = max([_width(self._name(m)) for m in by_merchant] + [4])
        for m, n in by_merchant.items():
            share = n / total if total else 0.0
            mark = "■" if self.merchants.get(m, (m, False))[1] else "□"
            bar = "█" * round(share * _BAR)
            lines.append(
                f"  {mark} {_pad(self._name(m), name_width)} {bar:<{_BAR}} {n:>4}  {share:6.1%}"
            )
        skipped = self.skipped_by_reason()
        lines.append("")
        lines.append("mentions not linked, by reason:")
        if not skipped:
            lines.append("  -")
        top = max(skipped.values(), default=1)
        reason_width = max([len(k) for k in skipped] + [4])
        for reason, n in skipped.items():
            bar = "█" * max(1, round(n / top * _BAR // 2))
            lines.append(f"  {reason:<{reason_width}} {bar:<{_BAR // 2}} {n:>4}")
        verdicts = self.verdicts_by_category()
        lines.append("")
        lines.append("verdicts by category (answers):")
        if not verdicts:
            lines.append("  -")
        category_width = max([len(k) for k in verdicts] + [4])
        for category, n in verdicts.items():
            lines.append(f"  {category:<{category_width}} {n:>4}")
        return "\n".join(lines) + "\n"

    def _name(self, merchant: str) -> str:
        return self.merchants.get(merchant, (merchant, False))[0] or merchant


def audit(linker: Linker, pairs: Iterable[QAPair]) -> AuditReport:
    """Link every answer with ``linker`` and tally links and skips.

    Args:
        linker: the configured linker (catalog, gates, caps) to review.
        pairs: the question/answer pairs.
    """
    rows: list[AuditRow] = []
    for pair in pairs:
        result = linker.link(pair.answer, query=pair.query or None)
        per_merchant = Counter(link.merchant for link in result.links)
        skipped = Counter(s.reason.value for s in result.skipped)
        gates = sorted(
            {s.detail.split(":", 1)[0] for s in result.skipped if s.reason.value == "gated"}
        )
        verdicts = {v.category for v in result.verdicts}
        verdicts.update(
            s.detail.split(":", 1)[0] for s in result.skipped if s.reason.value == "restricted"
        )
        rows.append(
            AuditRow(
                id=pair.id,
                query=pair.query,
                links=len(result.links),
                merchants=tuple(sorted(per_merchant.items())),
                skipped=tuple(sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0]))),
                gates=tuple(gates),
                verdicts=tuple(sorted(verdicts)),
            )
        )
    catalog = linker.catalog
    names = {m.id: (m.name or m.id, m.house) for m in catalog.merchants.values()}
    for product in catalog.products:
        names.setdefault(product.merchant, (product.merchant, False))
    return AuditReport(tuple(rows), names)
