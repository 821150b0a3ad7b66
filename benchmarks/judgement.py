"""The built-in judge on the labelled corpus in tests/data/judgement.

    PYTHONPATH=src python benchmarks/judgement.py [--misses]

Prints, for the ``tune`` part (what the term lists were tuned on) and the
``holdout`` part (never read while tuning), per conversation category:
recall (sensitive conversations that got no link) and precision (of the
conversations blocked as that category, how many were sensitive); the
share of ordinary shopping conversations wrongly blocked; recall of advice
against a product (products advised against that no link sells from the
warning on; "strict" counts a link in a block before the warning, which a
stream has sent by then, as a miss too); and the share
of other mentions that kept their link.  ``tests/test_judgement_corpus.py``
holds the goals as thresholds.  A measurement: it exits 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.judgement_eval import CATEGORIES, PARTS, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list where each failure is")
    args = parser.parse_args()
    for part in PARTS:
        report = evaluate(part)
        print(f"== {part}")
        print(f"{'category':<12} {'recall':<22} {'precision':<22}")
        for c in CATEGORIES:
            print(f"{c:<12} {report.recall[c]!s:<22} {report.precision[c]!s:<22}")
        print(f"ordinary conversations wrongly blocked: {report.wrongly_blocked}")
        print(f"advice-against recall:                  {report.against_recall}")
        print(f"  (strict: no link before the warning either: {report.against_strict})")
        print(f"other mentions that linked:             {report.for_kept}")
        if args.misses:
            for kind, where in report.misses.items():
                for w in where:
                    print(f"  miss {kind}: {w}")


if __name__ == "__main__":
    main()
