"""shoplink's benchmark report: one command, every figure a ratio from one run.

    PYTHONPATH=src python benchmarks/run.py                 # 1k .. 1M keywords
    PYTHONPATH=src python benchmarks/run.py --max-size 10000 --answers 50   # quick

Writes ``benchmarks/results.json``, the SVG plots and the results section of
``benchmarks/README.md`` (between the ``results`` markers).

Throughput contenders run interleaved, round after round, on the same
answers in one process; each figure is the median round. Build time and
peak memory come from a fresh child process per catalog size and backend,
so that one measurement's garbage cannot inflate the next.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import corpus  # noqa: E402
import shoplink  # noqa: E402
from shoplink import Catalog, Linker, ProductIndex  # noqa: E402
from shoplink._matcher import KeywordMatcher, available_backends, default_backend  # noqa: E402
from shoplink._text import fold_text  # noqa: E402


def make_catalog(products: list[list[str]], package: Any = shoplink) -> Catalog:
    """A catalog with one product per keyword list (``package``: shoplink, or a copy of it)."""
    return cast(
        Catalog,
        package.Catalog.build(
            (
                package.Product(
                    id=f"p{i}",
                    merchant="shop",
                    title=names[0],
                    url=f"https://shop.example/p{i}",
                    keywords=tuple(names),
                )
                for i, names in enumerate(products)
            ),
            merchants=[package.Merchant("shop", "Shop", domains=("shop.example",))],
            source="benchmark",
        ),
    )


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _private_mb() -> float:
    fields = {}
    with open("/proc/self/smaps_rollup") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                fields[parts[0].rstrip(":")] = int(parts[1])
    return (fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)) / 1024


# --------------------------------------------------------------------------- child: build


def child_build(size: int, backend: str) -> dict[str, Any]:
    """Build (and save, and load) the index of one catalog size; runs in a fresh process.

    ``load_s`` is ``ProductIndex.load(path, catalog)`` with the default
    ``backend="auto"``; ``load_find_s`` adds the first ``find()`` on the loaded
    index, so that nothing left for first use hides there. When the default
    load gives another backend than the one built, ``load_same_s`` is the
    load into the built backend (``backend=...``).
    """
    products = corpus.catalog_keywords(size)
    catalog = make_catalog(products)
    text = corpus.answers(products, 1)[0]
    del products
    gc.collect()
    before = _rss_mb()
    started = time.perf_counter()
    index = ProductIndex(catalog, backend=backend)
    build = time.perf_counter() - started
    peak = _peak_mb()
    after = _rss_mb()
    expected = index.find(text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.idx"
        started = time.perf_counter()
        index.save(path)
        save = time.perf_counter() - started
        del index
        gc.collect()
        started = time.perf_counter()
        loaded = ProductIndex.load(path, catalog)
        load = time.perf_counter() - started
        hits = loaded.find(text)
        load_find = time.perf_counter() - started
        assert hits == expected, "the loaded index finds other hits than the built one"
        loaded_backend = loaded.backend
        del loaded
        gc.collect()
        load_same = None
        if loaded_backend != backend:
            started = time.perf_counter()
            same = ProductIndex.load(path, catalog, backend=backend)
            load_same = time.perf_counter() - started
            del same
        file_mb = path.stat().st_size / 2**20
    return {
        "size": size,
        "backend": backend,
        "build_s": build,
        "catalog_rss_mb": before,
        "index_rss_mb": after - before,
        "peak_rss_mb": peak,
        "save_s": save,
        "load_s": load,
        "load_find_s": load_find,
        "load_backend": loaded_backend,
        "load_same_s": load_same,
        "file_mb": file_mb,
        "peak_after_load_mb": _peak_mb(),
    }


def run_child(*args: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- contenders


def contenders(products: list[list[str]], catalog: Catalog) -> dict[str, Callable[[str], object]]:
    """Name -> one call per answer, all built on the same catalog."""
    import ahocorasick
    import ahocorasick_rs
    import flashtext
    import flashtext2

    keywords = [k for names in products for k in names]
    folded = list(dict.fromkeys(fold_text(k) for k in keywords))
    out: dict[str, Callable[[str], object]] = {}

    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS, ahocorasick.KEY_STRING)
    for key, keyword in enumerate(folded):
        automaton.add_word(keyword, key)
    automaton.make_automaton()
    out["pyahocorasick iter() raw"] = lambda text: list(automaton.iter(text))

    for backend in available_backends():
        index = ProductIndex(catalog, backend=backend)
        matcher = index.matcher
        out[f"shoplink matcher ({backend})"] = matcher.find
        linker = Linker(catalog, index=index, max_links=None)
        out[f"shoplink link() ({backend})"] = linker.link
        if backend == default_backend():
            # What a user gets without options: at most 5 links per answer.
            out["shoplink link() default max_links=5"] = Linker(catalog, index=index).link

    rust = ahocorasick_rs.AhoCorasick(
        folded, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest, store_patterns=False
    )
    out["ahocorasick_rs leftmost-longest raw"] = rust.find_matches_as_indexes

    pure = flashtext.KeywordProcessor(case_sensitive=False)
    rusty = flashtext2.KeywordProcessor(case_sensitive=False)
    for i, keyword in enumerate(folded):
        link = f"[{keyword}](https://shop.example/{i})"
        pure.add_keyword(keyword, link)
        rusty.add_keyword(keyword, link)
    out["flashtext replace_keywords"] = pure.replace_keywords
    out["flashtext2 replace_keywords"] = rusty.replace_keywords

    if len(folded) <= 1_000:  # Python's re tries every alternative at every position
        pattern = re.compile(
            "|".join(map(re.escape, sorted(folded, key=len, reverse=True))), re.IGNORECASE
        )
        out["regex alternation"] = pattern.findall
    return out


def measure(
    calls: dict[str, Callable[[str], object]], texts: list[str], rounds: int
) -> dict[str, float]:
    """Median seconds per pass over ``texts``, contenders interleaved round by round."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():  # warm-up: caches, lazy tables
        for text in texts[:5]:
            call(text)
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            for text in texts:
                call(text)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(ts) for name, ts in times.items()}


def latency(
    calls: dict[str, Callable[[str], object]], texts: list[str], rounds: int
) -> dict[str, dict[str, float]]:
    """Per-answer p50/p99 of each call, the calls interleaved answer by answer."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for text in texts:
            for name, call in calls.items():
                started = time.perf_counter()
                call(text)
                samples[name].append(time.perf_counter() - started)
    out = {}
    for name, times in samples.items():
        times.sort()
        out[name] = {
            "p50_ms": 1000 * times[len(times) // 2],
            "p99_ms": 1000 * times[min(len(times) - 1, len(times) * 99 // 100)],
            "n": len(times),
        }
    return out


def profile_link(linker: Linker, texts: list[str]) -> list[tuple[str, float]]:
    """Share of ``link()`` time per shoplink module (own time, cProfile)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for text in texts:
        linker.link(text)
    profiler.disable()
    stats = pstats.Stats(profiler)
    per: dict[str, float] = {}
    for (filename, _line, _func), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        name = Path(filename).name if "shoplink" in filename else "other (stdlib, C calls)"
        if name.startswith("~") or filename == "~":
            name = "C builtins (translate, automaton, ...)"
        per[name] = per.get(name, 0.0) + own
    total = sum(per.values())
    return sorted(((k, v / total) for k, v in per.items()), key=lambda kv: -kv[1])


# --------------------------------------------------------------------------- forked workers


def worker_memory(size: int, workers: int = 2) -> dict[str, Any]:
    """Load one index file, fork workers that link, report each one's private memory."""
    products = corpus.catalog_keywords(size)
    catalog = make_catalog(products)
    texts = corpus.answers(products, 100, seed=corpus.SEED + 1)
    out: dict[str, Any] = {"size": size, "workers": workers}
    for backend in available_backends():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "index.idx"
            ProductIndex(catalog, backend=backend).save(path)
            gc.collect()
            linker = Linker(catalog, index=ProductIndex.load(path, catalog), max_links=None)
            gc.collect()
            gc.freeze()  # keep the collector from touching (and copying) shared pages
            parent_rss = _rss_mb()
            reads = []
            for _ in range(workers):
                read, write = os.pipe()
                if os.fork() == 0:  # child: link, report private memory, exit
                    os.close(read)
                    for text in texts:
                        linker.link(text)
                    os.write(write, json.dumps(_private_mb()).encode())
                    os._exit(0)
                os.close(write)
                reads.append(read)
            private = []
            for read in reads:
                with os.fdopen(read) as handle:
                    private.append(json.loads(handle.read()))
            for _ in reads:
                os.wait()
            gc.unfreeze()
            out[backend] = {"parent_rss_mb": parent_rss, "worker_private_mb": private}
    return out


# --------------------------------------------------------------------------- report


def _svg(title: str, series: dict[str, list[tuple[float, float]]], ylabel: str, path: Path) -> None:
    """A log-log line plot, drawn by hand (no plotting library needed)."""
    import math

    width, height, left, bottom, top, right = 640, 360, 70, 50, 30, 230
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points if y > 0]
    if not xs or not ys:
        return
    x0, x1 = math.log10(min(xs)), math.log10(max(xs))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1

    def px(x: float) -> float:
        return left + (math.log10(x) - x0) / (x1 - x0) * (width - left - right)

    def py(y: float) -> float:
        return height - bottom - (math.log10(y) - y0) / (y1 - y0) * (height - bottom - top)

    colours = [
        "#1f77b4",
        "#d62728",
        "#2ca02c",
        "#ff7f0e",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
        "#bcbd22",
        "#17becf",
    ]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="18" font-size="13">{title}</text>',
    ]
    for e in range(int(y0), int(y1) + 1):
        y = py(10**e)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{10**e:g}</text>'
        )
    for x in sorted(set(xs)):
        parts.append(
            f'<text x="{px(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">{x:,.0f}</text>'
        )
    parts.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">'
        "keywords in the catalog</text>"
        f'<text x="14" y="{(top + height - bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(top + height - bottom) / 2})">{ylabel}</text>'
    )
    for n, (name, points) in enumerate(series.items()):
        colour = colours[n % len(colours)]
        shown = [(x, y) for x, y in points if y > 0]
        path_d = " ".join(
            f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for i, (x, y) in enumerate(shown)
        )
        parts.append(f'<path d="{path_d}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in shown:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        ly = top + 14 * n
        parts.append(
            f'<line x1="{width - right + 10}" y1="{ly}" x2="{width - right + 28}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<text x="{width - right + 32}" y="{ly + 4}">{name}</text>'
        )
    parts.append("</svg>\n")
    path.write_text("\n".join(parts), encoding="utf-8")


def _table(rows: list[list[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def _mbs(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def report(results: dict[str, Any], command: str) -> str:
    sizes = [r["size"] for r in results["throughput"]]
    names = list(results["throughput"][0]["mb_per_s"])
    out = [
        f"Produced by `{command}` on {results['machine']} "
        f"({results['answers']} answers per size, {results['rounds']} interleaved rounds, "
        "median round). MB are UTF-8 megabytes of answer text.",
        "",
        "### Throughput (MB/s), same answers, one process",
        "",
        _table(
            [["contender", *(f"{s:,} kw" for s in sizes)]]
            + [
                [name, *(_mbs(r["mb_per_s"].get(name)) for r in results["throughput"])]
                for name in names
            ]
        ),
        "",
        "### Ratios (goals from issue 7)",
        "",
    ]
    ratio_rows = [["ratio", *(f"{s:,} kw" for s in sizes)]]
    default = results["default_backend"]
    pairs = [
        (
            f"link() ({default}) / raw pyahocorasick iter()",
            "shoplink link() ({b})",
            "pyahocorasick iter() raw",
            "≥ 0.5",
        ),
        (
            f"link() ({default}) / flashtext2 replace_keywords",
            "shoplink link() ({b})",
            "flashtext2 replace_keywords",
            "> 1 at 100k",
        ),
        (
            "link() default max_links=5 / raw pyahocorasick iter()",
            "shoplink link() default max_links=5",
            "pyahocorasick iter() raw",
            "",
        ),
        (
            "link() (pyahocorasick) / raw pyahocorasick iter()",
            "shoplink link() (pyahocorasick)",
            "pyahocorasick iter() raw",
            "",
        ),
        (
            "matcher (pyahocorasick) / raw pyahocorasick iter()",
            "shoplink matcher (pyahocorasick)",
            "pyahocorasick iter() raw",
            "",
        ),
        (
            f"matcher ({default}) / flashtext2 replace_keywords",
            "shoplink matcher ({b})",
            "flashtext2 replace_keywords",
            "",
        ),
        (
            f"share of link() time spent matching ({default}): link / matcher",
            "shoplink link() ({b})",
            "shoplink matcher ({b})",
            "",
        ),
    ]
    for label, num, den, goal in pairs:
        num, den = num.format(b=default), den.format(b=default)
        ratio_rows.append(
            [label + (f" (goal {goal})" if goal else "")]
            + [f"{r['mb_per_s'][num] / r['mb_per_s'][den]:.2f}" for r in results["throughput"]]
        )
    out += [_table(ratio_rows), ""]
    if results.get("latency"):
        lat = results["latency"]
        out += [
            f"### Latency of `link()`, 2 KB answers, {lat['size']:,} keywords",
            "",
            _table(
                [["backend", "p50 (ms)", "p99 (ms)", "answers timed"]]
                + [
                    [b, f"{v['p50_ms']:.2f}", f"{v['p99_ms']:.2f}", str(v["n"])]
                    for b, v in lat["backends"].items()
                ]
            ),
            "",
        ]
    out += [
        "### Building, saving and loading the index (fresh process per row)",
        "",
        _table(
            [
                [
                    "keywords",
                    "backend",
                    "build (s)",
                    "peak RSS (MB)",
                    "index RSS (MB)",
                    "catalog RSS (MB)",
                    "file (MB)",
                    "save (s)",
                    "load (s)",
                    "build / load",
                ]
            ]
            + [
                [
                    f"{b['size']:,}",
                    b["backend"],
                    f"{b['build_s']:.2f}",
                    f"{b['peak_rss_mb']:.0f}",
                    f"{b['index_rss_mb']:.0f}",
                    f"{b['catalog_rss_mb']:.0f}",
                    f"{b['file_mb']:.1f}",
                    f"{b['save_s']:.2f}",
                    f"{b['load_s']:.2f}",
                    f"{b['build_s'] / b['load_s']:.1f}x",
                ]
                for b in results["build"]
            ]
        ),
        "",
    ]
    if results.get("profile"):
        prof = results["profile"]
        out += [
            f"### Where `link()` spends its time ({prof['size']:,} keywords, {default}, "
            "cProfile own time)",
            "",
            _table([["module", "share"]] + [[m, f"{s:.0%}"] for m, s in prof["shares"][:10]]),
            "",
        ]
    if results.get("workers"):
        work = results["workers"]
        rows = [["backend", "parent RSS (MB)", "private MB per forked worker"]]
        for b in available_backends():
            if b in work:
                w = work[b]
                private = ", ".join(f"{p:.0f}" for p in w["worker_private_mb"])
                rows.append([b, f"{w['parent_rss_mb']:.0f}", private])
        out += [
            f"### Forked workers sharing one loaded index ({work['size']:,} keywords, "
            f"{work['workers']} workers, each linking 100 answers)",
            "",
            _table(rows),
            "",
        ]
    out += [
        "![throughput](throughput.svg)",
        "",
        "![build time](build_time.svg) ![memory](memory.svg)",
    ]
    return "\n".join(out)


def write_report(results: dict[str, Any], command: str) -> None:
    (HERE / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    series = {
        name: [(r["size"], r["mb_per_s"].get(name, 0.0)) for r in results["throughput"]]
        for name in results["throughput"][0]["mb_per_s"]
    }
    _svg("Throughput against catalog size", series, "MB/s", HERE / "throughput.svg")
    backends = sorted({b["backend"] for b in results["build"]})
    _svg(
        "Index build time",
        {
            b: [(r["size"], r["build_s"]) for r in results["build"] if r["backend"] == b]
            for b in backends
        },
        "seconds",
        HERE / "build_time.svg",
    )
    _svg(
        "Peak memory while building (whole process)",
        {
            b: [(r["size"], r["peak_rss_mb"]) for r in results["build"] if r["backend"] == b]
            for b in backends
        },
        "MB",
        HERE / "memory.svg",
    )
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    body = f"{start}\n{report(results, command)}\n{end}"
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: body, text, flags=re.S)
    readme.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-size", type=int, default=1_000_000)
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child-build", nargs=2, metavar=("SIZE", "BACKEND"))
    args = parser.parse_args(argv)
    if args.child_build:
        print(json.dumps(child_build(int(args.child_build[0]), args.child_build[1])))
        return
    command = "PYTHONPATH=src python benchmarks/run.py" + (
        f" {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip()
    )
    sizes = list(corpus.iter_sizes(args.max_size))
    results: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "answers": args.answers,
        "rounds": args.rounds,
        "default_backend": KeywordMatcher(["x"]).backend,
        "shoplink": shoplink.__version__,
        "throughput": [],
        "build": [],
    }
    for size in sizes:
        for backend in available_backends():
            print(f"build {size:,} {backend}", file=sys.stderr, flush=True)
            results["build"].append(run_child("--child-build", str(size), backend))
        print(f"scan {size:,}", file=sys.stderr, flush=True)
        products = corpus.catalog_keywords(size)
        catalog = make_catalog(products)
        texts = corpus.answers(products, args.answers)
        megabytes = sum(len(t.encode()) for t in texts) / 1e6
        calls = contenders(products, catalog)
        seconds = measure(calls, texts, args.rounds)
        results["throughput"].append(
            {
                "size": size,
                "megabytes": megabytes,
                "mb_per_s": {name: megabytes / s for name, s in seconds.items()},
            }
        )
        if size == min(100_000, sizes[-1]):
            linker = Linker(catalog, max_links=None)
            results["profile"] = {"size": size, "shares": profile_link(linker, texts)}
        if size == sizes[-1]:
            two_kb = corpus.answers(
                products, args.answers, seed=corpus.SEED + 2, low=1900, high=2100
            )
            linkers = {
                backend: Linker(
                    catalog, index=ProductIndex(catalog, backend=backend), max_links=None
                ).link
                for backend in available_backends()
            }
            results["latency"] = {"size": size, "backends": latency(linkers, two_kb, 3)}
        del calls, catalog, products
        gc.collect()
    print("forked workers", file=sys.stderr, flush=True)
    results["workers"] = worker_memory(sizes[-1])
    write_report(results, command)
    print(report(results, command))


if __name__ == "__main__":
    main()
