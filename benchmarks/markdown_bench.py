"""Markdown placement cost, this tree against another commit, in one process.

    PYTHONPATH=src python benchmarks/markdown_bench.py --base main
    PYTHONPATH=src python benchmarks/markdown_bench.py --base main --size 10000 --rounds 7

``--base REF`` extracts ``src/shoplink`` of that commit (``git archive``) into
a temporary folder as the package ``shoplink_base`` and imports it next to
this tree's ``shoplink``; without it only this tree is timed.  Catalog and
answers are built as ``run.py`` builds them.

Two figures per variant, in ms per answer, the variants alternating round
by round on the same answers (each figure the median round, and the fastest):

* ``markdown``: ``MarkdownLayout.analyze`` plus a replay of every call that
  ``link()`` made on the layout for that answer (``block_at``, ``refusal``,
  ``place``), recorded once per variant;
* ``link()``: the whole call, ``max_links=None``.

``--profile`` prints this tree's ``_markdown`` functions by own time
(cProfile over the replay).  No figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import pstats
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import corpus  # noqa: E402
import run  # noqa: E402

# (method name, args, kwargs) of one call on a layout
_Call = tuple[str, tuple[Any, ...], dict[str, Any]]
_RECORDED = ("block_at", "refusal", "place")


def load_base(ref: str, into: Path) -> ModuleType:
    """Import ``src/shoplink`` of commit ``ref`` as the package ``shoplink_base``."""
    archive = subprocess.run(
        ["git", "archive", ref, "src/shoplink"],
        cwd=HERE.parent,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "src" / "shoplink").rename(into / "shoplink_base")
    sys.path.insert(0, str(into))
    return importlib.import_module("shoplink_base")


class Variant:
    """One package: its linker over the shared catalog, and the recorded layout calls."""

    def __init__(self, name: str, package: ModuleType, products: list[list[str]]) -> None:
        self.name = name
        self.markdown = importlib.import_module(package.__name__ + "._markdown")
        catalog = run.make_catalog(products, package)
        self.link: Callable[[str], object] = package.Linker(catalog, max_links=None).link
        self.calls: list[list[_Call]] = []

    def record(self, texts: list[str]) -> None:
        """Run ``link()`` once per answer, keeping the calls it makes on the layout."""
        cls = self.markdown.MarkdownLayout
        originals = {name: getattr(cls, name) for name in _RECORDED}
        log: list[_Call] = []

        def spy(name: str) -> Callable[..., object]:
            method = originals[name]

            def wrapper(self: object, *args: Any, **kwargs: Any) -> object:
                log.append((name, args, kwargs))
                return method(self, *args, **kwargs)

            return wrapper

        try:
            for name in _RECORDED:
                setattr(cls, name, spy(name))
            for text in texts:
                log = []
                self.link(text)
                self.calls.append(log)
        finally:
            for name, method in originals.items():
                setattr(cls, name, method)

    def replay(self, texts: list[str]) -> None:
        """The Markdown stage alone: analyze each answer, repeat its recorded calls."""
        analyze = self.markdown.MarkdownLayout.analyze
        for text, calls in zip(texts, self.calls, strict=False):
            layout = analyze(text)
            for name, args, kwargs in calls:
                getattr(layout, name)(*args, **kwargs)

    def whole(self, texts: list[str]) -> None:
        for text in texts:
            self.link(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="a git ref to compare against")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--answers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    import shoplink

    products = corpus.catalog_keywords(args.size)
    texts = corpus.answers(products, args.answers)
    with tempfile.TemporaryDirectory() as tmp:
        variants = [Variant("this tree", shoplink, products)]
        if args.base:
            base = load_base(args.base, Path(tmp))
            variants.insert(0, Variant(f"base {args.base}", base, products))
        for variant in variants:
            variant.record(texts)
        mentions = sum(len(c) for c in variants[-1].calls) / len(texts)
        times: dict[tuple[str, str], list[float]] = {}
        stages = {"markdown": Variant.replay, "link()": Variant.whole}
        for variant in variants:  # warm-up
            for stage in stages.values():
                stage(variant, texts[:10])
        for _ in range(args.rounds):
            for variant in variants:
                for stage_name, stage in stages.items():
                    started = time.perf_counter()
                    stage(variant, texts)
                    elapsed = time.perf_counter() - started
                    times.setdefault((variant.name, stage_name), []).append(elapsed)
        print(
            f"{args.size:,} keywords, {len(texts)} answers, {args.rounds} rounds, "
            f"{mentions:.1f} layout calls per answer; ms per answer, median (fastest) round"
        )
        for (name, stage_name), ts in times.items():
            median = 1000 * statistics.median(ts) / len(texts)
            fastest = 1000 * min(ts) / len(texts)
            print(f"  {name:<16} {stage_name:<9} {median:7.3f} ({fastest:.3f})")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            variants[-1].replay(texts)
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats("_markdown", 25)


if __name__ == "__main__":
    main()
