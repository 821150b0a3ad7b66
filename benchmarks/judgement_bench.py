"""What the judgement stage costs: linking with the built-in judge against linking with none.

Run (not part of the test suite; no timing is asserted anywhere)::

    PYTHONPATH=src python benchmarks/judgement_bench.py

Both linkers share the demo catalog and its index and run side by side in
this process, over the demo answers (whole, and streamed in 16-character
chunks) and over long answers with a warning in every paragraph (the
advice cues' regular expressions run only where a literal cue is found).
The figure that matters is the ratio: judged time over unjudged time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import shoplink


def best(run: Callable[[], object], rounds: int = 15) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    catalog = shoplink.demo_catalog()
    index = shoplink.ProductIndex(catalog)
    judged = shoplink.Linker(catalog, index=index)
    bare = shoplink.Linker(catalog, index=index, judges=[])
    answers = [(a.answer, a.query) for a in shoplink.demo_answers()]
    warned = "\n\n".join(
        f"第{i}段：别买理肤泉B5修复面膜，玉泽皮肤屏障修护面膜更稳。Skip the cheap ones."
        for i in range(300)
    )

    def whole(linker: shoplink.Linker) -> Callable[[], object]:
        return lambda: [linker.link(text, query) for text, query in answers]

    def streamed(linker: shoplink.Linker) -> Callable[[], object]:
        def run() -> None:
            for text, query in answers:
                chunks = [text[i : i + 16] for i in range(0, len(text), 16)]
                "".join(linker.stream(chunks, query))

        return run

    def long(linker: shoplink.Linker) -> Callable[[], object]:
        return lambda: linker.link(warned, "面膜推荐")

    print(f"{'workload':<34} {'no judge':>10} {'judged':>10} {'ratio':>7}")
    for name, make in (
        ("demo answers, link()", whole),
        ("demo answers, stream (16 chars)", streamed),
        ("300 paragraphs with a warning", long),
    ):
        a, b = best(make(bare)), best(make(judged))
        print(f"{name:<34} {a * 1000:>8.2f}ms {b * 1000:>8.2f}ms {b / a:>6.2f}x")


if __name__ == "__main__":
    main()
