"""Score the built-in judge on the labelled corpus in ``tests/data/judgement``.

Shared by ``tests/test_judgement_corpus.py`` (which holds the thresholds)
and ``benchmarks/judgement.py`` (which prints the table).  Each
conversation is linked for real: a catalog is made with one product per
name the corpus mentions (category "日用百货", so no product rule
applies), and ``Linker.link`` runs with no cap and no minimum gap, so
that every mention not advised against can link.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

import shoplink
from tests.conftest import catalog_from_rows

CORPUS = Path(__file__).resolve().parent / "data" / "judgement"
PARTS = ("tune", "holdout")
CATEGORIES = ("self_harm", "minor", "medical")
# The corpus's category names -> the built-in judge's.
_JUDGE_NAME = {"self_harm": "self_harm", "minor": "minors", "medical": "medical"}


def load(part: str) -> list[dict[str, Any]]:
    """Every conversation of one part (``tune`` or ``holdout``), file by file."""
    out: list[dict[str, Any]] = []
    for path in sorted((CORPUS / part).glob("*.jsonl")):
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if line.strip():
                record = json.loads(line)
                record["_where"] = f"{path.name}:{n}"
                out.append(record)
    return out


def catalog_for(records: Iterable[dict[str, Any]]) -> shoplink.Catalog:
    """One product per mentioned name, keyword = the name."""
    names = sorted({m["name"] for r in records for m in r.get("mentions", ())})
    rows = [
        {
            "id": f"p{i:05d}",
            "merchant": "shop",
            "title": name,
            "url": f"https://shop.example/p/{i}",
            "keywords": [name],
            "category": "日用百货",
        }
        for i, name in enumerate(names)
    ]
    return catalog_from_rows(rows, (shoplink.Merchant("shop", "Shop"),))


@attrs.frozen
class Outcome:
    """What the linker did with one conversation."""

    record: dict[str, Any]
    blocked_by: frozenset[str]  # verdict categories that blocked links
    linked: frozenset[str]  # mention names that got a link
    skipped_against: frozenset[str]  # mention names skipped as advised against
    # mention names linked after a mention of theirs was skipped as advised against
    linked_after_warning: frozenset[str]


def run(records: Sequence[dict[str, Any]], linker: shoplink.Linker) -> list[Outcome]:
    """Link every conversation of ``records``."""
    out = []
    for record in records:
        result = linker.link(
            record["answer"], query=record["query"], history=record.get("history") or None
        )
        conversation = {v.category for v in result.verdicts if v.source != "answer"}
        answer = {v.category for v in result.verdicts if v.source == "answer"}
        names = {m["name"] for m in record.get("mentions", ())}
        if not result.links and answer and not conversation:
            # An answer verdict only blocks from its block on: count it when
            # it left nothing linked.
            conversation = answer
        elif answer:
            gated = {s.mention for s in result.skipped if s.reason.value == "gated"}
            if gated & names:
                conversation |= answer
        out.append(
            Outcome(
                record,
                frozenset(conversation),
                frozenset(link.mention for link in result.links),
                frozenset(
                    s.mention for s in result.skipped if s.reason.value == "advised_against"
                ),
                frozenset(
                    link.mention
                    for link in result.links
                    for s in result.skipped
                    if s.reason.value == "advised_against"
                    and s.mention == link.mention
                    and s.start < link.start
                ),
            )
        )
    return out


@attrs.frozen
class Score:
    """Counts for one category (or one question) over one part."""

    hits: int
    total: int

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 1.0

    def __str__(self) -> str:
        return f"{self.rate:.3f} ({self.hits}/{self.total})"


@attrs.frozen
class Report:
    """The corpus scores of one part."""

    recall: dict[str, Score]  # sensitive conversations that got no link
    precision: dict[str, Score]  # conversations blocked as c that were sensitive
    wrongly_blocked: Score  # ordinary conversations that lost their links
    against_recall: Score  # products advised against with no link from the warning on
    against_strict: Score  # products advised against with no link at all
    for_kept: Score  # mentions not advised against that linked
    misses: dict[str, list[str]]  # where each failure is, for reading


def score(outcomes: Sequence[Outcome]) -> Report:
    """Score outcomes against their labels."""
    recall: dict[str, Score] = {}
    precision: dict[str, Score] = {}
    misses: dict[str, list[str]] = {c: [] for c in (*CATEGORIES, "ordinary", "against", "for")}
    for c in CATEGORIES:
        expected = [o for o in outcomes if o.record["expect"][c]]
        caught = [o for o in expected if o.blocked_by]
        recall[c] = Score(len(caught), len(expected))
        misses[c] = [o.record["_where"] for o in expected if not o.blocked_by]
        said = [o for o in outcomes if _JUDGE_NAME[c] in o.blocked_by]
        right = [o for o in said if any(o.record["expect"].values())]
        precision[c] = Score(len(right), len(said))
    ordinary = [o for o in outcomes if not any(o.record["expect"].values())]
    blocked = [o for o in ordinary if o.blocked_by]
    misses["ordinary"] = [f"{o.record['_where']} {sorted(o.blocked_by)}" for o in blocked]
    against_total = against_hit = strict_hit = for_total = for_hit = 0
    for o in ordinary:
        if o.blocked_by:
            continue
        for mention in o.record.get("mentions", ()):
            name = mention["name"]
            if mention["advice"] == "against":
                against_total += 1
                strict_hit += name not in o.linked
                if name not in o.linked or (
                    name in o.skipped_against and name not in o.linked_after_warning
                ):
                    against_hit += 1
                else:
                    misses["against"].append(f"{o.record['_where']} {name}")
            else:
                for_total += 1
                if name in o.linked:
                    for_hit += 1
                elif name in o.skipped_against:
                    misses["for"].append(f"{o.record['_where']} {name}")
    return Report(
        recall,
        precision,
        Score(len(blocked), len(ordinary)),
        Score(against_hit, against_total),
        Score(strict_hit, against_total),
        Score(for_hit, for_total),
        misses,
    )


def evaluate(part: str) -> Report:
    """Score the default judge on one part of the corpus."""
    records = load(part)
    everything = [r for p in PARTS for r in load(p)]
    linker = shoplink.Linker(catalog_for(everything), max_links=None, min_gap=0)
    return score(run(records, linker))
