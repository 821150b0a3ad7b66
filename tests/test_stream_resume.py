"""Incremental re-linking in streams: resuming from closed blocks changes nothing.

``LinkStream`` re-links the buffer after each newline (HTML: ``>``) with
``Linker._link_from``, which takes the decisions for the blocks that closed
before from the previous re-link (``_state.Carry``) and links only the rest.  These
tests check that the resumed result is the full ``link`` result at every
step, and that streams using it still equal ``link(whole)``.
"""

from __future__ import annotations

import datetime as dt
import unittest.mock
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoplink
from shoplink import SkipReason, _linker, _markdown, _stream, _styles
from shoplink._html import HtmlLayout
from shoplink._judge import _gates
from shoplink._markdown import MarkdownLayout, MarkdownScan, ScanPoint, _table_quirk
from shoplink._options import CallOptions
from shoplink._stream import _closed_end
from tests.conftest import catalog_from_rows, product_row
from tests.oracle import render
from tests.strategies_markdown import documents
from tests.test_stream import ANSWERS, DEMO, answer_in, check_stream, cut

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
QUERY = "敏感肌适合用什么样的面膜"

RESUMING_FORMS = {
    (style, fmt, numbering): shoplink.Linker(
        DEMO, style=style, format=fmt, reference_numbering=numbering
    )
    for style in ("inline", "card", "reference")
    for fmt in ("markdown", "html")
    for numbering in (("continue", "separate") if style == "reference" else ("continue",))
}
FORM_IDS = [f"{s}-{f}-{n}" for s, f, n in RESUMING_FORMS]

# Decisions that read earlier blocks: spacing across a blank line, once per
# name and per product, the cap, a gate tripped by parts in two blocks.
CROSS_BLOCK = [
    "推荐理肤泉B5修复面膜，修护好。\n\n玉泽面膜也不错。\n\n雅漾面膜也行\n\n理肤泉B5修复面膜再说。\n",
    "理肤泉B5修复面膜\n\n玉泽面膜好\n\n雅漾面膜好\n\n薇诺娜面膜好\n\n面膜\n\n理肤泉B5修复面膜\n",
    "推荐理肤泉B5修复面膜。\n\n有湿疹要看医生。\n\n玉泽面膜不错。\n\n需要治疗时用雅漾面膜。\n\n面膜\n",
    "# 标题理肤泉B5修复面膜\n\n```\n玉泽面膜\n\n```\n\n玉泽面膜\n\n> 雅漾面膜\n\n- 面膜\n\n正文\n",
    "I like the Pegasus.\n\n我推荐理肤泉B5修复面膜\n\n玉泽面膜\n\n雅漾面膜 too.\n",
]
# The answer's own reference list, known at the end, renumbers the markers.
OWN_LIST = [
    "推荐理肤泉B5修复面膜，修护好。\n\n玉泽面膜也不错。\n\n参考：\n1. [a](https://a.test/)\n",
    "推荐理肤泉B5修复面膜。\n\n玉泽面膜\n\n1. [a](https://a.test/)\n2. 雅漾面膜\n\n尾\n",
]


def _closed(linker: shoplink.Linker, text: str) -> int:
    """The stream's closed end ``C`` of ``text`` (what it passes as ``snap_at``)."""
    if linker.format == "html":
        return HtmlLayout.analyze(text).closed_end()
    complete = text.rfind("\n") + 1
    return _closed_end(text[:complete])[0]


def _resume_steps(linker: shoplink.Linker, text: str, query: str | None) -> int:
    """Re-link every prefix ending at a block end, resuming; how many resumed."""
    stops = [i + 1 for i, ch in enumerate(text) if ch == ("\n" if linker.format != "html" else ">")]
    carry: Any = None
    resumed = 0
    for stop in [*stops, len(text)]:
        prefix = text[:stop]
        before = carry
        result, carry = linker._link_from(prefix, query, CallOptions(now=NOW), carry, _closed(linker, prefix))
        assert result == linker.link(prefix, query, now=NOW), repr(prefix)
        if before is not None and before.hits and carry is not None:
            resumed += 1
    return resumed


@pytest.mark.parametrize("form", list(RESUMING_FORMS), ids=FORM_IDS)
def test_resumed_relink_is_the_full_link_at_every_block_end(form: tuple[str, str, str]) -> None:
    linker = RESUMING_FORMS[form]
    for a in ANSWERS:
        _resume_steps(linker, answer_in(form[1], a), a.query)


@pytest.mark.parametrize("answer", CROSS_BLOCK)
@pytest.mark.parametrize("max_links", [None, 1, 2, 5])
@pytest.mark.parametrize("min_gap", [0, 10, 40])
def test_resumed_relink_carries_cross_block_state(
    answer: str, max_links: int | None, min_gap: int
) -> None:
    linker = shoplink.Linker(DEMO, max_links=max_links, min_gap=min_gap)
    for query in (QUERY, None):
        _resume_steps(linker, answer, query)
        for size in (1, 3):
            chunks = [answer[i : i + size] for i in range(0, len(answer), size)]
            check_stream(linker, answer, chunks, query)


@pytest.mark.parametrize("form", list(RESUMING_FORMS), ids=FORM_IDS)
def test_the_carry_is_used(form: tuple[str, str, str]) -> None:
    """Re-links really resume, every time (else this is only the full path again).

    On the demo answers nothing a carry checks ever changes after it was
    made (hits, their blocks, gate trips, marker numbers), so every re-link
    must take over everything its carry decided.
    """
    linker = RESUMING_FORMS[form]
    calls: list[tuple[int, int]] = []
    original = _linker._Run._resume

    def spy(run: Any, hits: Any, carry: Any) -> int:
        taken = original(run, hits, carry)
        calls.append((taken, len(carry.hits) if carry is not None else 0))
        return taken

    mp = pytest.MonkeyPatch()
    mp.setattr(_linker._Run, "_resume", spy)
    try:
        for a in ANSWERS:
            answer = answer_in(form[1], a)
            chunks = cut(answer, range(0, len(answer), 16))
            check_stream(linker, answer, chunks, a.query)
    finally:
        mp.undo()
    assert sum(taken for taken, _ in calls) > 0, calls
    assert [c for c in calls if c[0] != c[1]] == [], calls
    a = next(a for a in ANSWERS if a.id == "qa-01")
    assert _resume_steps(shoplink.Linker(DEMO), a.answer, a.query) > 0


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_random_cuts_every_form_resuming(data: st.DataObject) -> None:
    form = data.draw(st.sampled_from(list(RESUMING_FORMS)))
    a = data.draw(st.sampled_from(ANSWERS))
    text = answer_in(form[1], a)
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=60))
    query = data.draw(st.sampled_from([a.query, None]))
    check_stream(RESUMING_FORMS[form], text, cut(text, points), query)


@pytest.mark.parametrize("answer", OWN_LIST)
@pytest.mark.parametrize("numbering", ["continue", "separate"])
def test_resumed_relink_follows_the_reference_numbering(answer: str, numbering: str) -> None:
    linker = shoplink.Linker(
        DEMO, style="reference", reference_numbering=numbering, max_links=None, min_gap=0
    )
    _resume_steps(linker, answer, QUERY)
    for size in (1, 4):
        chunks = [answer[i : i + size] for i in range(0, len(answer), size)]
        check_stream(linker, answer, chunks, QUERY)


def _same_layout(a: MarkdownLayout, b: MarkdownLayout) -> None:
    assert a.blocks == b.blocks
    assert a._infos == b._infos
    assert a._refs == b._refs
    assert a._unsure_from == b._unsure_from


def _check_resumed_scan(text: str) -> None:
    """Scanning every prefix, resuming from the previous one, is a fresh scan."""
    point: ScanPoint | None = None
    for stop in [*range(1, len(text)), len(text)]:
        prefix = text[:stop]
        fresh = MarkdownLayout.analyze(prefix)
        assert fresh._unsure_from == _table_quirk(fresh._scan)
        resumed = MarkdownLayout.analyze(prefix, point)
        _same_layout(resumed, fresh)
        assert resumed.scan_point == fresh.scan_point
        point = resumed.scan_point


@pytest.mark.parametrize("answer", ANSWERS, ids=[a.id for a in ANSWERS])
def test_resumed_block_scan_is_a_fresh_scan(answer: shoplink.DemoAnswer) -> None:
    _check_resumed_scan(answer.answer)


QUIRKY = [
    "a\n\n- a | b\n---|---\n\nc\n",
    "x\n\n[a]: https://a.test/\n\n[a] 理肤泉B5修复面膜\n\n  code?\n\n    code\n\nz\n",
    "- a\n\n  b\n\nc\n\n> q\n\nd\r\n\r\ne\r\rf\n",
    "```\na\n\nb\n```\n\n<div>\n\nx\n</div>\n\n<!--\n\n-->\n",
]


@pytest.mark.parametrize("text", QUIRKY)
def test_resumed_block_scan_tricky(text: str) -> None:
    _check_resumed_scan(text)


@settings(max_examples=60, deadline=None)
@given(doc=documents())
def test_resumed_block_scan_generated(doc: str) -> None:
    _check_resumed_scan(doc)


def _closed_end_of_the_layout(complete: str) -> int:
    # The closed end read off the finished layout of the complete lines.
    if not complete:
        return 0
    blocks = list(MarkdownLayout.analyze(complete).blocks)
    size = len(complete)
    i = len(blocks) - 1
    while i >= 0 and blocks[i].kind == "blank":
        i -= 1
    if i < 0 or i < len(blocks) - 1:
        return size
    last = blocks[i]
    if last.kind not in ("paragraph", "table", "definition"):
        return last.end if last.end < size else size
    start, j = last.start, i - 1
    while j >= 0 and blocks[j].kind == "definition" and blocks[j].end == start:
        start, j = blocks[j].start, j - 1
    return start


def _check_scan_before_closing(text: str) -> None:
    """The closed end and refusals read off the open scan are the finished layout's.

    The scan grows line by line, its layout made at every step (a layout
    leaves the scan open).
    """
    scan: MarkdownScan | None = None
    lines = [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    for stop in lines:
        complete = text[:stop]
        closed, scan = _closed_end(complete, scan)
        assert closed == _closed_end_of_the_layout(complete), complete
        assert scan is not None
        assert scan.scan_point == MarkdownLayout.analyze(complete).scan_point
        layout = MarkdownLayout.analyze(complete)
        for at in range(len(complete)):
            if scan.refused_at(at):
                for end in range(at + 1, min(at + 12, len(complete)) + 1):
                    assert layout.refusal(at, end) is not None, (complete, at, end)
        _same_layout(scan.layout(), layout)


@pytest.mark.parametrize("text", [*QUIRKY, *(a.answer for a in ANSWERS)])
def test_scan_before_closing_tricky(text: str) -> None:
    _check_scan_before_closing(text if text.endswith("\n") else text + "\n")


@settings(max_examples=80, deadline=None)
@given(doc=documents())
def test_scan_before_closing_generated(doc: str) -> None:
    _check_scan_before_closing(doc + "\n")


def test_a_carry_for_another_text_query_or_clock_is_dropped() -> None:
    linker = shoplink.Linker(DEMO)
    first = "推荐理肤泉B5修复面膜，修护好。\n\n玉泽面膜也不错。\n\n"
    _, carry = linker._link_from(first, QUERY, CallOptions(now=NOW), None, len(first))
    assert carry is not None and carry.hits
    later = NOW + dt.timedelta(days=30)
    for text, query, now in [
        ("推荐雅漾面膜，修护好。\n\n玉泽面膜也不错。\n\n雅漾面膜\n", QUERY, NOW),
        (first + "雅漾面膜\n", None, NOW),
        (first + "雅漾面膜\n", QUERY, later),
    ]:
        result, _ = linker._link_from(text, query, CallOptions(now=now), carry, len(text))
        assert result == linker.link(text, query, now=now)


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_a_long_answers_stream_is_not_quadratic(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every re-link checks that the hits its carry decided are still in the
    # blocks they were in, and checks the answer's gates.  Looking up every
    # carried hit again, and scanning the whole buffer for gate terms, made
    # a long answer's stream quadratic; blocks taken over from the last
    # layout are known to be the same, and the gates scan only new text.
    linker = shoplink.Linker(DEMO, format=fmt, max_links=None)
    looked_up = scanned = 0
    original = _linker._Run._block_span

    def counting(run: Any, hit: Any) -> tuple[int, int]:
        nonlocal looked_up
        looked_up += 1
        return original(run, hit)

    normalise = _gates._normalise  # every text the gates scan goes through it

    def scanning(text: str) -> str:
        nonlocal scanned
        scanned += len(text)
        return normalise(text)

    monkeypatch.setattr(_linker._Run, "_block_span", counting)
    monkeypatch.setattr(_gates, "_normalise", scanning)
    base = "\n\n".join(a.answer for a in ANSWERS)
    counts = []
    for copies in (2, 8):
        text = "\n\n".join([base] * copies)
        if fmt == "html":
            text = render(text)
        looked_up = scanned = 0
        check_stream(linker, text, cut(text, range(0, len(text), 16)), QUERY)
        counts.append((looked_up, scanned))
    # 4x the text: about 4x the work, not 16x
    assert counts[1][0] < 5 * counts[0][0], counts
    assert counts[1][1] < 5 * counts[0][1], counts


def test_a_carry_whose_block_changed_is_dropped() -> None:
    # A carry made past the closed end (a paragraph that a later "===" turns
    # into a heading) must not be taken over: its block is not the same.
    linker = shoplink.Linker(DEMO)
    head = "推荐玉泽面膜。\n"
    first, carry = linker._link_from(head, QUERY, CallOptions(now=NOW), None, len(head))
    assert carry is not None and carry.hits and first.links
    text = head + "===\n\n雅漾面膜\n"
    result, _ = linker._link_from(text, QUERY, CallOptions(now=NOW), carry, len(text))
    assert result == linker.link(text, QUERY, now=NOW)
    assert [link.start for link in result.links] == [text.rindex("面膜")]  # not in the heading


@pytest.mark.parametrize(
    ("fence", "refusal"),
    [("```\n", SkipReason.IN_CODE), ("<div>\n", SkipReason.IN_HTML), ("    ", SkipReason.IN_CODE)],
)
def test_a_growing_code_block_stays_out_of_the_carry(fence: str, refusal: SkipReason) -> None:
    # Lines of code (fenced, indented) or an HTML block are final one by one,
    # but the block grows: a refusal in a later line of it gates the mention
    # in an earlier line, so that mention's record is not final yet.
    linker = shoplink.Linker(DEMO)
    head = "推荐玉泽面膜。\n\n" + fence + "雅漾面膜\n"
    first, carry = linker._link_from(head, QUERY, CallOptions(now=NOW), None, len(head))
    assert [s.reason for s in first.skipped] == [refusal]
    assert carry is not None
    assert [h.start for h in carry.hits] == [head.index("玉泽")]
    text = head + ("    " if fence == "    " else "") + "抱歉，我无法提供\n"
    result, _ = linker._link_from(text, QUERY, CallOptions(now=NOW), carry, len(text))
    assert result == linker.link(text, QUERY, now=NOW)
    assert [s.reason for s in result.skipped] == [SkipReason.GATED]


@pytest.mark.parametrize(
    "item", ["- 第{i}项：推荐理肤泉B5修复面膜\n", "> 引用第{i}行\n", "{i}. **玉泽面膜** 很好\n"]
)
def test_resumed_block_scan_does_not_rescan_an_open_container(
    item: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stream analyzes its buffer at every line end; inside a long list or
    # quote nothing is ever "closed", and resuming only from points where
    # nothing was open re-read the whole container each time (quadratic).
    lines = [item.format(i=i) for i in range(200)]
    fed = 0
    original = _markdown._BlockScanner.feed

    def counting(self: Any, start: int, end: int) -> None:
        nonlocal fed
        fed += 1
        original(self, start, end)

    monkeypatch.setattr(_markdown._BlockScanner, "feed", counting)
    point: ScanPoint | None = None
    text = ""
    for line in lines:
        text += line
        layout = MarkdownLayout.analyze(text, point)
        point = layout.scan_point
    assert fed <= len(lines) + 1
    _same_layout(layout, MarkdownLayout.analyze(text))


@pytest.mark.parametrize(
    "unit",
    [
        "| 玉泽面膜 | 好 |\n",  # one table, still open
        "这一行说说玉泽面膜\n",  # one paragraph, still open
        "    code 玉泽面膜 line\n",  # indented code
        "> 引用玉泽面膜\n",  # a quote: one paragraph inside it
    ],
)
def test_a_long_open_block_streams_in_linear_work(unit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Finding the closed end used to close the open leaf at every line (a
    # table split into cells again, row by row), and a mention in code cost
    # a re-link at every line, deciding the whole block again.
    linker = shoplink.Linker(DEMO)
    head = "| a | b |\n|---|---|\n" if unit.startswith("|") else ""
    cells = relinks = 0
    original_cells = _markdown._BlockScanner._cells
    original_link = _stream.LinkStream._link

    def counting_cells(scanner: Any, line: Any) -> Any:
        nonlocal cells
        cells += 1
        return original_cells(scanner, line)

    def counting_link(stream: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal relinks
        relinks += 1
        return original_link(stream, *args, **kwargs)

    monkeypatch.setattr(_markdown._BlockScanner, "_cells", counting_cells)
    monkeypatch.setattr(_stream.LinkStream, "_link", counting_link)
    counts = []
    for lines in (100, 400):
        text = head + unit * lines
        cells = relinks = 0
        check_stream(linker, text, cut(text, range(0, len(text), 16)), QUERY)
        counts.append((cells, relinks))
    assert counts[1][0] < 5 * max(counts[0][0], 1), counts  # 4x the lines: not 16x the work
    assert counts[1][1] < 5 * max(counts[0][1], 1), counts
    if unit.startswith(" "):
        assert counts[1][1] <= 1, counts  # in code nothing is linked: only flush links


def test_a_card_stream_with_many_links_anchors_each_card_a_few_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every re-link anchored every card so far: with hundreds of links a
    # card stream did work quadratic in them.  A card whose row is out is
    # taken as it is.
    rows = [product_row(f"p{i}", [f"产品{i:03d}号"], title=f"产品{i:03d}号") for i in range(400)]
    linker = shoplink.Linker(catalog_from_rows(rows), style="card", max_links=None)
    anchored = 0
    original = _styles.Form._card_anchor

    def counting(form: Any, text: str, layout: Any, link: Any) -> int:
        nonlocal anchored
        anchored += 1
        return original(form, text, layout, link)

    monkeypatch.setattr(_styles.Form, "_card_anchor", counting)
    counts = []
    for n in (100, 400):
        text = "".join(f"推荐产品{i:03d}号。\n\n" for i in range(n))
        assert len(linker.link(text).links) == n
        anchored = 0
        check_stream(linker, text, cut(text, range(0, len(text), 16)))
        counts.append(anchored)
    assert counts[1] < 5 * counts[0], counts  # 4x the links: not 16x the work


def test_a_scan_grows_only_after_complete_lines() -> None:
    scan = MarkdownScan("理肤泉\n好用")
    with pytest.raises(ValueError, match="complete lines"):
        scan.grow("理肤泉\n好用吗\n")
    scan = MarkdownScan("- 理肤泉\n")
    first = scan.layout()
    scan.grow("- 理肤泉\n- 好用\n\n段落\n")
    # The first layout is untouched by the growth; the new one is a fresh scan's.
    _same_layout(first, MarkdownLayout.analyze("- 理肤泉\n"))
    _same_layout(scan.layout(), MarkdownLayout.analyze("- 理肤泉\n- 好用\n\n段落\n"))
    done = MarkdownScan("理肤泉\n")
    _same_layout(done.final_layout(), MarkdownLayout.analyze("理肤泉\n"))
    with pytest.raises(ValueError, match="final layout"):
        done.grow("理肤泉\n好用\n")


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_a_huge_answer_re_links_a_logarithmic_number_of_times(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each re-link copies what it carries, so one re-link per paragraph of
    # a huge answer naming a product in every paragraph cost quadratic time
    # (700,000 characters: 47 s streamed against 2 s linked whole).  Past
    # the threshold (100,000 characters; 2,000 here) re-links wait until the
    # text has grown by a sixteenth: same output, a bounded number of them.
    monkeypatch.setattr(_stream, "_RELINK_EVERY_BREAK_UPTO", 2_000)
    linker = shoplink.Linker(DEMO, max_links=None, format=fmt)
    unit = "第{i}段说说理肤泉的面膜效果如何。\n\n"
    if fmt == "html":
        unit = "<p>第{i}段说说理肤泉的面膜效果如何。</p>\n"
    relinks = 0
    original_link = _stream.LinkStream._link

    def counting_link(stream: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal relinks
        relinks += 1
        return original_link(stream, *args, **kwargs)

    monkeypatch.setattr(_stream.LinkStream, "_link", counting_link)
    counts = []
    for paragraphs in (1_000, 4_000):
        text = "".join(unit.format(i=i) for i in range(paragraphs))
        relinks = 0
        check_stream(linker, text, cut(text, range(0, len(text), 64)), QUERY)
        counts.append(relinks)
    # about 2,000 / 26 paragraphs re-link each, then 16 per doubling
    assert counts[0] < 200 and counts[1] < counts[0] + 16 * 2 + 10, counts


_SPACED_LINKERS = {
    (style, fmt): shoplink.Linker(DEMO, style=style, format=fmt, max_links=None)
    for style in ("inline", "card", "reference")
    for fmt in ("markdown", "html")
}


@settings(max_examples=60, deadline=None)
@given(
    docs=st.lists(st.sampled_from(ANSWERS), min_size=1, max_size=3),
    form=st.sampled_from(sorted(_SPACED_LINKERS)),
    threshold=st.integers(0, 400),
    data=st.data(),
)
def test_spaced_re_links_give_the_same_output(
    docs: list[shoplink.DemoAnswer], form: tuple[str, str], threshold: int, data: st.DataObject
) -> None:
    # Past the threshold, re-links are skipped at most breaks: what comes
    # out must not change, only when.
    text = "\n\n".join(answer_in(form[1], a) for a in docs)
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=40))
    with unittest.mock.patch.object(_stream, "_RELINK_EVERY_BREAK_UPTO", threshold):
        check_stream(_SPACED_LINKERS[form], text, cut(text, points), docs[0].query)


def test_cards_in_a_long_list_look_ahead_once_per_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each card in a list looked ahead block by block to the list's end for
    # its place: a long list full of products cost quadratic time in link().
    # The next top-level block from each block is now worked out once.
    matches = 0
    original = _styles._CONTAINER_LINE

    class Counting:
        def match(self, text: str, pos: int) -> Any:
            nonlocal matches
            matches += 1
            return original.match(text, pos)

    monkeypatch.setattr(_styles, "_CONTAINER_LINE", Counting())
    rows = [product_row(f"p{i}", [f"产品{i:04d}号"], title=f"产品{i:04d}号") for i in range(800)]
    linker = shoplink.Linker(catalog_from_rows(rows), style="card", max_links=None)
    counts = []
    for n in (200, 800):
        matches = 0
        result = linker.link("".join(f"- 推荐产品{i:04d}号，很好用\n" for i in range(n)))
        assert len(result.links) == n
        counts.append(matches)
    assert counts[1] < 5 * counts[0], counts  # 4x the list: not 16x the work
