"""pytest-benchmark view of the same contenders as ``run.py``, one catalog size.

    PYTHONPATH=src python -m pytest benchmarks/ --benchmark-only -p no:cacheprovider
    SHOPLINK_BENCH_SIZE=100000 PYTHONPATH=src python -m pytest benchmarks/ --benchmark-only

Each benchmark is one pass over the same answers; compare them within one
run (``--benchmark-group-by=group``), never against a fixed number. The
report with ratios, build times and plots is ``run.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

import corpus
from run import contenders, make_catalog

SIZE = int(os.environ.get("SHOPLINK_BENCH_SIZE", "10000"))
_PRODUCTS = corpus.catalog_keywords(SIZE)
_TEXTS = corpus.answers(_PRODUCTS, 50)
_CALLS = contenders(_PRODUCTS, make_catalog(_PRODUCTS))


@pytest.mark.parametrize("name", sorted(_CALLS))
def test_pass_over_answers(benchmark: Callable[..., object], name: str) -> None:
    call = _CALLS[name]
    benchmark.group = f"{SIZE} keywords, {len(_TEXTS)} answers"
    benchmark(lambda: [call(text) for text in _TEXTS])
