"""Accuracy of the relevance scorer on the labelled set in tests/data/relevance.

    PYTHONPATH=src python benchmarks/relevance_accuracy.py [--verbose]

Each case is (query, answer, mention -> acceptable product ids); an empty
list means the mention must stay unlinked.  The demo catalog is used.  Each
case is decided by:

* ``relevance-1``: the scorer shoplink shipped before policy relevance-2
  (bigram overlap with query x2 + block, divided by sqrt(feature count)),
  frozen here as the baseline;
* ``relevance-3``: the current scorer (relevance-2's scores, exact ties
  rotated by the mention's context), through the real ``Linker``;
* ablations of relevance-2 (each one change), to show what each part buys;
* ``jieba``: relevance-2 with jieba words in place of character bigrams,
  if jieba is installed (``pip install jieba``; not a dependency).

This is a measurement, not a test: it prints a table and exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import shoplink
from shoplink import _rank
from shoplink._model import RelevanceProfile
from shoplink._text import fold

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "relevance" / "cases.jsonl"


def load_cases() -> list[dict[str, Any]]:
    lines = CASES.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def mention_offset(case: dict[str, Any]) -> int:
    """Offset of the case's mention: its ``occurrence``-th appearance (default 1st)."""
    folded, needle = fold(case["answer"]).text, fold(case["mention"]).text
    at = -1
    for _ in range(case.get("occurrence", 1)):
        at = folded.index(needle, at + 1)
    return at


# --- the relevance-1 baseline, verbatim in behaviour ------------------------

_CJK = _rank._CJK_RUN


def _old_features(text: str) -> frozenset[str]:
    folded = fold(text).text
    out: set[str] = set()
    for m in _CJK.finditer(folded):
        run = m.group()
        out.update([run] if len(run) == 1 else (run[i : i + 2] for i in range(len(run) - 1)))
    out.update(w for w in _rank._WORD.findall(_CJK.sub(" ", folded)) if w not in _rank._STOP)
    return frozenset(out)


def _old_choose(
    profiles: Iterable[RelevanceProfile], query: str, block: str, linked: set[str]
) -> str | None:
    q, c = _old_features(query), _old_features(block)
    qf, cf = fold(query).text, fold(block).text

    def has(terms: Iterable[str], hay: str) -> bool:
        return any(fold(t).text in hay for t in terms if t)

    best: list[tuple[float, str]] = []
    for p in profiles:
        if not p.purchasable or p.product_id in linked:
            continue
        if p.negative_terms and (has(p.negative_terms, qf) or has(p.negative_terms, cf)):
            continue
        if p.context_terms and not (has(p.context_terms, qf) or has(p.context_terms, cf)):
            continue
        own = _old_features(" ".join((p.title, p.brand, p.category, p.description, *p.keywords)))
        s = 0.0 if not own else (2 * len(own & q) + len(own & c)) / math.sqrt(len(own))
        best.append((-round(s, 6), p.product_id))
    return min(best)[1] if best else None


def decide_old(catalog: shoplink.Catalog, case: dict[str, Any]) -> str | None:
    from shoplink._index import ProductIndex
    from shoplink._markdown import MarkdownLayout

    index = ProductIndex(catalog)
    answer = case["answer"]
    at = mention_offset(case)
    hit = next(h for h in index.find(answer) if h.start <= at < h.end)
    block = MarkdownLayout.analyze(answer).block_at(hit.start)
    span = answer if block is None else answer[block.start : block.end]
    return _old_choose(index.profiles(hit.key), case["query"], span, set())


def decide_new(linker: shoplink.Linker, case: dict[str, Any]) -> str | None:
    answer = case["answer"]
    at = mention_offset(case)
    result = linker.link(answer, query=case["query"] or None)
    for link in result.links:
        if link.start <= at < link.end:
            return link.product_id
    return None


# --- ablations ---------------------------------------------------------------


@contextmanager
def patched(obj: Any, **values: Any) -> Iterator[None]:
    saved = {k: getattr(obj, k) for k in values}
    for k, v in values.items():
        setattr(obj, k, v)
    _rank._clear_caches()
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(obj, k, v)
        _rank._clear_caches()


def _jieba_grams() -> Callable[[str], Iterable[str]] | None:
    try:
        import jieba  # type: ignore[import-not-found]
    except ImportError:
        return None
    jieba.setLogLevel(60)
    return lambda run: [w for w in jieba.lcut(run) if w.strip()]


def _uni_bi(run: str) -> list[str]:
    return [*run, *(run[i : i + 2] for i in range(len(run) - 1))]


def _tri(run: str) -> list[str]:
    return [run] if len(run) < 3 else [run[i : i + 3] for i in range(len(run) - 2)]


def variants() -> Iterator[tuple[str, Any]]:
    yield "relevance-3 (shipped)", patched(_rank)
    yield "  - no negation", patched(_rank, _NEGATION=re.compile(r"(?!x)x"))
    yield "  - no idf", patched(_rank, _idf=lambda profiles: {})
    yield "  - no sentence weight", patched(_rank, SENTENCE_WEIGHT=0.0)
    yield "  - query weight 2 (as rel-1)", patched(_rank, QUERY_WEIGHT=2.0)
    yield "  - no title bonus", patched(_rank, TITLE_KEYWORD_BONUS=0.0)
    yield "  + unigrams with bigrams", patched(_rank, _cjk_grams=_uni_bi)
    yield "  + trigrams instead", patched(_rank, _cjk_grams=_tri)
    jieba = _jieba_grams()
    if jieba is not None:
        yield "  jieba words instead of bigrams", patched(_rank, _cjk_grams=jieba)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()
    cases = load_cases()
    catalog = shoplink.demo_catalog()
    linker = shoplink.Linker(catalog, gates=(), max_links=None, min_gap=0)

    def report(name: str, decide: Callable[[dict[str, Any]], str | None]) -> None:
        right = 0
        misses = []
        for case in cases:
            got = decide(case)
            ok = (got is None) if not case["expect"] else got in case["expect"]
            right += ok
            if not ok:
                misses.append(f"      {case['id']}: got {got}, want {case['expect'] or 'no link'}")
        print(f"{name:36s} {right:3d}/{len(cases)}  {100 * right / len(cases):5.1f}%")
        if args.verbose:
            print("\n".join(misses))

    print(f"{len(cases)} labelled mentions, demo catalog ({len(catalog)} products)\n")
    report("relevance-1 (baseline)", lambda c: decide_old(catalog, c))
    for name, ctx in variants():
        with ctx:
            report(name, lambda c: decide_new(linker, c))
    return 0


if __name__ == "__main__":
    sys.exit(main())
