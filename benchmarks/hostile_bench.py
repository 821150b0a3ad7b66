"""Hostile answers: does the work grow with the answer, or faster?

Run (not part of the test suite; no timing is asserted anywhere)::

    PYTHONPATH=src python benchmarks/hostile_bench.py          # about a minute
    PYTHONPATH=src python benchmarks/hostile_bench.py --quick  # smaller sizes
    PYTHONPATH=src python benchmarks/hostile_bench.py --style card  # or reference

Each shape is an answer an assistant (or text injected into it) could
produce, built at two sizes, the second four times the first.  For each,
``link()`` and a stream in 64-character chunks are timed (best of three)
and checked to give the same text.  ``growth`` is the time at 4x the size
over the time at 1x: about 4 is linear, 16 quadratic.  Shapes that once grew
quadratically are marked with where it was fixed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import shoplink

MASK = "理肤泉B5面膜"
OTHER = "玉泽面膜"

# name -> (format, builder of an answer with n units, note)
SHAPES: dict[str, tuple[str, Callable[[int], str], str]] = {
    "emphasis soup, one paragraph": (
        "markdown",
        lambda n: f"*{MASK}* _面膜_ **{OTHER}** " * n,
        "was quadratic: sentence search per mention (40 s at 36 KB)",
    ),
    "advice cues in one long paragraph": (
        "markdown",
        lambda n: f"别买{MASK}，不要错过{OTHER}，踩雷了，" * n,
        "was quadratic: the label's sentence counted per mention (27 s at 56 KB)",
    ),
    "english warnings in one sentence": (
        "markdown",
        lambda n: f"skip the cheap ones, avoid junk, {MASK} is a waste of money, and " * n,
        "was quadratic: the label's sentence counted per mention (22 s at 150 KB)",
    ),
    "one line, no sentence end": (
        "markdown",
        lambda n: f"说说{MASK}的效果如何，" * n,
        "",
    ),
    "a product in every paragraph": (
        "markdown",
        lambda n: "".join(f"第{i}段说说{MASK}的效果如何。\n\n" for i in range(n)),
        "streams were quadratic: one re-link per paragraph (47 s at 700 KB)",
    ),
    "link reference definitions": (
        "markdown",
        lambda n: "".join(f"[r{i}]: https://a.test/{i}\n" for i in range(n))
        + f"{MASK} [r1] {OTHER}\n",
        "was quadratic: the lines left were joined per definition",
    ),
    "bare URLs and names": (
        "markdown",
        lambda n: f"https://a.test/{MASK} {OTHER} www.b.com {MASK} " * n,
        "",
    ),
    "nested list": (
        "markdown",
        lambda n: "".join("  " * (i % 12) + f"- {MASK} {OTHER}\n" for i in range(n)),
        "streams re-linked at every line (the names are linked once, in the first): "
        "0.86 s inline, 1.79 s card at 208 KB, where link() takes 0.36 s",
    ),
    "table rows": (
        "markdown",
        lambda n: "| a | b |\n|---|---|\n" + f"| {MASK} | {OTHER} |\n" * n,
        "",
    ),
    "HTML nested blocks": (
        "html",
        lambda n: "<div><p>" * n + MASK + "</p></div>" * n,
        "was quadratic: the open-element stack searched at every tag",
    ),
    "HTML one paragraph": (
        "html",
        lambda n: "<p>" + f"说说{MASK}的效果，<b>好</b>" * n + "</p>",
        "",
    ),
    "HTML paragraphs": (
        "html",
        lambda n: "".join(f"<p>第{i}段说说{MASK}的效果。</p>\n" for i in range(n)),
        "",
    ),
}


def _best(call: Callable[[], object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def _stream(linker: shoplink.Linker, text: str) -> str:
    stream = linker.streamer()
    out = [stream.feed(text[i : i + 64]) for i in range(0, len(text), 64)]
    out.append(stream.flush())
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="units 500 and 2,000")
    parser.add_argument(
        "--style", choices=("inline", "card", "reference"), default="inline", help="link form"
    )
    args = parser.parse_args(argv)
    sizes = (500, 2_000) if args.quick else (2_000, 8_000)
    catalog = shoplink.demo_catalog()
    print("| shape | characters at 4x | link() 1x / 4x (s) | growth | stream 1x / 4x | growth |")
    print("|---|---|---|---|---|---|")
    for name, (fmt, build, _note) in SHAPES.items():
        linker = shoplink.Linker(catalog, max_links=None, format=fmt, style=args.style)
        whole, streamed, size = [], [], 0
        for n in sizes:
            text = build(n)
            size = len(text)
            if _stream(linker, text) != linker.link(text).text:
                print(f"{name}: the stream differs from link()", file=sys.stderr)
                return 1
            whole.append(_best(lambda linker=linker, text=text: linker.link(text)))
            streamed.append(_best(lambda linker=linker, text=text: _stream(linker, text)))
        print(
            f"| {name} | {size:,} | {whole[0]:.3f} / {whole[1]:.3f} | "
            f"{whole[1] / max(whole[0], 1e-6):.1f} | {streamed[0]:.3f} / {streamed[1]:.3f} | "
            f"{streamed[1] / max(streamed[0], 1e-6):.1f} |",
            flush=True,
        )
    print()
    for name, (_fmt, _build, note) in SHAPES.items():
        if note:
            print(f"- {name}: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
