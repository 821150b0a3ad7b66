"""Streaming cost: linking while streaming against linking whole.

Run (not part of the test suite; no timing is asserted anywhere)::

    PYTHONPATH=src python -m pytest benchmarks/stream_bench.py -p no:cacheprovider \
        --benchmark-group-by=group --benchmark-columns=min,mean,rounds

Groups:

* ``answer``: all 15 demo answers (about 10,000 characters), linked whole
  once each, and streamed in 16-character chunks (about the size of a few
  LLM tokens in a server's SSE frames).
* ``chunk``: the same answers streamed in 1, 2, 3 and 4 character chunks:
  the per-chunk overhead.  Divide the time by the number of chunks
  (printed in ``extra_info``) for the cost of one ``feed``.
* ``long-STYLE-FORMAT``: an 80,000-character answer (the demo answers
  joined, 8 times over, without the one whose gate trip ends linking),
  every mention decided (``max_links=None``), whole and in 16-character
  chunks: the stream's work must grow with the answer, not faster.
* ``huge-inline-markdown``: 700,000 characters, a product in every
  paragraph, 64-character chunks (the re-links spaced out past 100,000
  characters keep this near linking whole).
* ``form-STYLE-FORMAT``: each link form (inline, card, reference) in
  Markdown and in HTML (the demo answers rendered by markdown-it-py),
  linked whole and streamed in 16-character chunks.
"""

from __future__ import annotations

from typing import Any

import markdown_it
import pytest

import shoplink

LINKER = shoplink.Linker(shoplink.demo_catalog())
ANSWERS = [(a.answer, a.query) for a in shoplink.demo_answers()]
TOTAL = sum(len(a) for a, _ in ANSWERS)


def _whole() -> None:
    for answer, query in ANSWERS:
        LINKER.link(answer, query)


def _streamed(size: int) -> None:
    for answer, query in ANSWERS:
        chunks = [answer[i : i + size] for i in range(0, len(answer), size)]
        for _ in LINKER.stream(chunks, query):
            pass


@pytest.mark.benchmark(group="answer")
def test_link_whole(benchmark: Any) -> None:
    benchmark.extra_info["characters"] = TOTAL
    benchmark(_whole)


@pytest.mark.benchmark(group="answer")
def test_stream_16_char_chunks(benchmark: Any) -> None:
    benchmark.extra_info["characters"] = TOTAL
    benchmark.extra_info["chunks"] = sum(-(-len(a) // 16) for a, _ in ANSWERS)
    benchmark(_streamed, 16)


@pytest.mark.benchmark(group="chunk")
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_stream_small_chunks(benchmark: Any, size: int) -> None:
    benchmark.extra_info["chunks"] = sum(-(-len(a) // size) for a, _ in ANSWERS)
    benchmark(_streamed, size)


_HTML = [(markdown_it.MarkdownIt().render(a), q) for a, q in ANSWERS]
FORMS = [(style, fmt) for fmt in ("markdown", "html") for style in ("inline", "card", "reference")]


def _form(style: str, fmt: str) -> tuple[shoplink.Linker, list[tuple[str, str]]]:
    linker = shoplink.Linker(shoplink.demo_catalog(), style=style, format=fmt)
    return linker, (_HTML if fmt == "html" else ANSWERS)


@pytest.mark.parametrize(("style", "fmt"), FORMS)
def test_form_whole(benchmark: Any, style: str, fmt: str) -> None:
    linker, answers = _form(style, fmt)
    benchmark.group = f"form-{style}-{fmt}"
    benchmark(lambda: [linker.link(a, q) for a, q in answers])


@pytest.mark.parametrize(("style", "fmt"), FORMS)
def test_form_stream_16(benchmark: Any, style: str, fmt: str) -> None:
    linker, answers = _form(style, fmt)
    benchmark.group = f"form-{style}-{fmt}"

    def run() -> None:
        for answer, query in answers:
            chunks = [answer[i : i + 16] for i in range(0, len(answer), 16)]
            for _ in linker.stream(chunks, query):
                pass

    benchmark(run)


# A long answer: the demo answers joined, 8 times over (about 80,000
# characters), every mention decided (max_links=None).  Without qa-07, whose
# gate trip ends linking early (the stream then passes the text through),
# so every block with a mention costs a re-link to the end.
_LONG = "\n\n".join(["\n\n".join(a for a, _ in ANSWERS if "用药" not in a)] * 8)
LONG_FORMS = [("inline", "markdown"), ("card", "markdown"), ("inline", "html")]


def _long(style: str, fmt: str) -> tuple[shoplink.Linker, str]:
    linker = shoplink.Linker(shoplink.demo_catalog(), style=style, format=fmt, max_links=None)
    return linker, (markdown_it.MarkdownIt().render(_LONG) if fmt == "html" else _LONG)


@pytest.mark.parametrize(("style", "fmt"), LONG_FORMS)
def test_long_whole(benchmark: Any, style: str, fmt: str) -> None:
    linker, text = _long(style, fmt)
    benchmark.group = f"long-{style}-{fmt}"
    benchmark.extra_info["characters"] = len(text)
    benchmark(linker.link, text, ANSWERS[0][1])


@pytest.mark.parametrize(("style", "fmt"), LONG_FORMS)
def test_long_stream_16(benchmark: Any, style: str, fmt: str) -> None:
    linker, text = _long(style, fmt)
    benchmark.group = f"long-{style}-{fmt}"
    chunks = [text[i : i + 16] for i in range(0, len(text), 16)]

    def run() -> None:
        for _ in linker.stream(chunks, ANSWERS[0][1]):
            pass

    benchmark(run)


# A huge answer: 700,000 characters, a product named in every paragraph, in
# 64-character chunks.  Past 100,000 characters a stream re-links only once
# the answer has grown by a sixteenth (one re-link per paragraph used to
# cost quadratic time: 47 s here).  One round each: seconds per call.
_HUGE = "".join(f"第{i}行说说理肤泉的面膜效果如何。\n\n" for i in range(32_000))


@pytest.mark.benchmark(group="huge-inline-markdown")
def test_huge_whole(benchmark: Any) -> None:
    linker = shoplink.Linker(shoplink.demo_catalog(), max_links=None)
    benchmark.extra_info["characters"] = len(_HUGE)
    benchmark.pedantic(linker.link, (_HUGE,), rounds=3, iterations=1)


@pytest.mark.benchmark(group="huge-inline-markdown")
def test_huge_stream_64(benchmark: Any) -> None:
    linker = shoplink.Linker(shoplink.demo_catalog(), max_links=None)
    chunks = [_HUGE[i : i + 64] for i in range(0, len(_HUGE), 64)]

    def run() -> None:
        for _ in linker.stream(chunks):
            pass

    benchmark.pedantic(run, rounds=3, iterations=1)
