"""Streaming: the joined stream equals linking the whole answer, with bounded delay."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shoplink
from shoplink import Gate, LinkResult, LinkStream, SkipReason
from tests.conftest import (
    GENERIC_THEN_NAMED,
    catalog_from_rows,
    generic_then_named_catalog,
    product_row,
)
from tests.oracle import render
from tests.strategies_markdown import WORDS, documents

DATA = Path(__file__).parent / "data" / "streams"
ANSWERS = shoplink.demo_answers()
DEMO = shoplink.demo_catalog()
LINKER = shoplink.Linker(DEMO)
LONGEST = max(len(k) for k in LINKER._snapshot.index.matcher.keywords)
WHOLE = {a.id: LINKER.link(a.answer, a.query) for a in ANSWERS}
FORMS = {
    (style, fmt): shoplink.Linker(DEMO, style=style, format=fmt)
    for style in ("inline", "card", "reference")
    for fmt in ("markdown", "html")
}

# The generated Markdown documents use WORDS as product names.
WORDS_LINKER = shoplink.Linker(
    catalog_from_rows([product_row(f"p{i}", [w]) for i, w in enumerate(WORDS)]),
    max_links=None,
    label="us",
)


def cut(text: str, points: Iterable[int]) -> list[str]:
    cuts = sorted({p for p in points if 0 < p < len(text)})
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def feed_all(
    linker: shoplink.Linker, chunks: list[str], query: str | None = None
) -> tuple[list[str], list[tuple[int, int]]]:
    """Feed chunks one by one: the pieces, and (fed, pending) after every feed."""
    stream = linker.streamer(query=query)
    pieces, delays = [], []
    fed = 0
    for chunk in chunks:
        pieces.append(stream.feed(chunk))
        fed += len(chunk)
        delays.append((fed, stream.pending))
    pieces.append(stream.flush())
    return pieces, delays


def link_spans(result: LinkResult) -> list[tuple[int, int]]:
    """Where each link's markup + mention sits in ``result.text``."""
    shift_at: list[tuple[int, int]] = []  # (original offset, output shift before it)
    shift = 0
    for ins in result.insertions:
        shift_at.append((ins.at, shift))
        shift += len(ins.text)
    spans = []
    for link in result.links:
        before = sum(len(i.text) for i in result.insertions if i.at < link.wrap_start)
        through = sum(len(i.text) for i in result.insertions if i.at <= link.wrap_end)
        spans.append((link.wrap_start + before, link.wrap_end + through))
    return spans


def insertion_spans(result: LinkResult) -> list[tuple[int, int]]:
    """Where each inserted piece sits in ``result.text``."""
    spans, shift = [], 0
    for ins in result.insertions:
        spans.append((ins.at + shift, ins.at + shift + len(ins.text)))
        shift += len(ins.text)
    return spans


def check_stream(
    linker: shoplink.Linker, answer: str, chunks: list[str], query: str | None = None
) -> None:
    whole = linker.link(answer, query)
    pieces, _ = feed_all(linker, chunks, query)
    assert "".join(pieces) == whole.text
    # every link comes out in one piece
    bounds = [0]
    for p in pieces:
        bounds.append(bounds[-1] + len(p))
    # Cards leave the mention alone: what must come out whole is the card
    # row (an insertion), not the mention together with a card after it.
    spans = insertion_spans(whole) if linker.style == "card" else link_spans(whole)
    for start, end in spans:
        assert any(a <= start and end <= b for a, b in itertools.pairwise(bounds)), (
            whole.text[start:end]
        )


# -- equality ------------------------------------------------------------------


@pytest.mark.parametrize("answer", ANSWERS, ids=[a.id for a in ANSWERS])
def test_every_character_a_chunk(answer: shoplink.DemoAnswer) -> None:
    check_stream(LINKER, answer.answer, list(answer.answer), answer.query)


@pytest.mark.parametrize("size", [2, 3, 4, 16, 10**6])
def test_fixed_size_chunks(size: int) -> None:
    for a in ANSWERS:
        chunks = [a.answer[i : i + size] for i in range(0, len(a.answer), size)]
        check_stream(LINKER, a.answer, chunks, a.query)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_cuts_of_demo_answers(data: st.DataObject) -> None:
    a = data.draw(st.sampled_from(ANSWERS))
    points = data.draw(st.lists(st.integers(0, len(a.answer)), max_size=40))
    check_stream(LINKER, a.answer, cut(a.answer, points), a.query)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(doc=documents(), data=st.data())
def test_random_cuts_of_generated_markdown(doc: str, data: st.DataObject) -> None:
    points = data.draw(st.lists(st.integers(0, len(doc)), max_size=30))
    check_stream(WORDS_LINKER, doc, cut(doc, points), None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents())
def test_generated_markdown_every_character(doc: str) -> None:
    check_stream(WORDS_LINKER, doc, list(doc), None)


@pytest.mark.parametrize(
    "answer",
    [
        "推荐理肤泉B5修复面膜\n===\n",  # setext heading: the paragraph is not closed by a newline
        "推荐 | 理肤泉B5修复面膜 |\n|---|---|\n| 玉泽 | x |\n\n后记\n",  # the line becomes a table header
        "```\n理肤泉B5修复面膜\n```\n理肤泉B5修复面膜\n",  # a code fence, then a paragraph
        "```\n理肤泉B5修复面膜\n",  # an unclosed fence
        "> 理肤泉B5修复面膜\n继续理肤泉B5修复面膜\n\n- 玉泽面膜\n  续行\n\n    缩进代码 面膜\n",
        "<div>\n理肤泉B5修复面膜\n\n理肤泉B5修复面膜 https://a.test/理肤泉B5修复面膜 `面膜\n`\n",
        "用 **理肤泉B5修复面膜** 和 ~~玉泽面膜~~，还有 [面膜](https://a.test/) 与 <b>面膜</b>\n",
        "[ref]: https://a.test/\n理肤泉B5修复面膜\n\n[ref]\n",
        "Try the CeraVe moisturizing cream or CeraVe cream.\n\nThen Avene.",
        "理肤泉B5修复面膜",  # no newline at all
        "",
    ],
)
def test_tricky_answers_every_cut(answer: str) -> None:
    for size in (1, 2, 5):
        chunks = [answer[i : i + size] for i in range(0, len(answer), size)]
        check_stream(LINKER, answer, chunks, None)
    # and every single cut point
    for p in range(1, len(answer)):
        check_stream(LINKER, answer, cut(answer, [p]), None)


def test_every_built_style_and_format() -> None:
    # Markdown answers through every form, also read as HTML (one text run).
    for linker in FORMS.values():
        for a in ANSWERS:
            check_stream(linker, a.answer, cut(a.answer, range(0, len(a.answer), 3)), a.query)


# A keyword that starts inside a longer one ("手机" in "小米手机壳"): the
# shorter one is seen first, and the chunk that completes the longer one
# must move the safe point back to where the longer one starts.
NESTED_LINKER = shoplink.Linker(
    catalog_from_rows([product_row("p1", ["手机"]), product_row("p2", ["小米手机壳"])]),
    max_links=None,
)


def test_a_longer_mention_completed_later_moves_the_safe_point_back() -> None:
    answer = "买了小米手机壳真好用啊啊啊啊\n"
    chunks = ["买了小米手机", "壳真好用啊啊啊啊\n"]
    whole = NESTED_LINKER.link(answer).text
    assert whole.startswith("买了[小米手机壳](")
    check_stream(NESTED_LINKER, answer, chunks)


@st.composite
def nested_keywords(draw: st.DrawFn) -> tuple[list[str], str]:
    """Keywords that start inside a longer one, and a text full of them and their parts."""
    longer = draw(st.text(alphabet="小米手机壳套ab", min_size=3, max_size=8))
    i = draw(st.integers(1, len(longer) - 1))
    inner = longer[i : draw(st.integers(i + 1, len(longer)))]
    others = draw(st.lists(st.text(alphabet="小米手机壳套ab", min_size=1, max_size=5), max_size=3))
    keywords = list(dict.fromkeys(k for k in [longer, inner, *others] if k.strip() == k))
    parts = st.one_of(
        st.sampled_from([longer, inner, longer[:-1], *others]),
        st.text(alphabet="小米手机壳套ab好用的很 \n，*", max_size=12),
    )
    return keywords, "".join(draw(st.lists(parts, max_size=10)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=nested_keywords(), data=st.data())
def test_random_cuts_with_keywords_inside_keywords(
    case: tuple[list[str], str], data: st.DataObject
) -> None:
    # Keywords occur inside, across and around each other, and chunks of any
    # length complete them in any order.
    keywords, text = case
    linker = shoplink.Linker(
        catalog_from_rows([product_row(f"p{i}", [k]) for i, k in enumerate(keywords)]),
        max_links=None,
    )
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=8))
    check_stream(linker, text, cut(text, points))


# -- every style x format --------------------------------------------------------

FORM_IDS = [f"{s}-{f}" for s, f in FORMS]
# Demo answers with lists, tables, quotes and emphasis.
SOME = [a for a in ANSWERS if a.id in ("qa-01", "qa-02", "qa-03", "qa-13")]


def answer_in(fmt: str, a: shoplink.DemoAnswer) -> str:
    """A demo answer in the format: Markdown, or rendered to real HTML."""
    return a.answer if fmt == "markdown" else render(a.answer)


@pytest.mark.parametrize("form", list(FORMS), ids=FORM_IDS)
@pytest.mark.parametrize("answer", SOME, ids=[a.id for a in SOME])
def test_every_form_every_character(form: tuple[str, str], answer: shoplink.DemoAnswer) -> None:
    text = answer_in(form[1], answer)
    check_stream(FORMS[form], text, list(text), answer.query)


@pytest.mark.parametrize("form", list(FORMS), ids=FORM_IDS)
def test_every_form_fixed_chunks(form: tuple[str, str]) -> None:
    for a in ANSWERS:
        text = answer_in(form[1], a)
        for size in (2, 7, 16):
            chunks = [text[i : i + size] for i in range(0, len(text), size)]
            check_stream(FORMS[form], text, chunks, a.query)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_cuts_every_form(data: st.DataObject) -> None:
    form = data.draw(st.sampled_from(list(FORMS)))
    a = data.draw(st.sampled_from(ANSWERS))
    text = answer_in(form[1], a)
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=40))
    query = data.draw(st.sampled_from([a.query, None]))
    check_stream(FORMS[form], text, cut(text, points), query)


MARKDOWN_FORM_ANSWERS = [
    # cards go after the whole list / quote, which ends after the mention's block
    "- 推荐理肤泉B5修复面膜，修护好。\n- 玉泽面膜也不错。\n后记接着写\n\n正文\n",
    "- 推荐理肤泉B5修复面膜。\n- 玉泽面膜。\n\n正文\n",
    "1. 理肤泉B5修复面膜\n\n   续段\n2. 玉泽面膜\n\n正文玉泽面膜\n",
    "> 理肤泉B5修复面膜\n> 续\n\n正文\n- 玉泽面膜\n  - 嵌套理肤泉B5修复面膜\n",
    "推荐理肤泉B5修复面膜\n\n\n\n- 玉泽面膜\n",
    "推荐理肤泉B5修复面膜\n-\n",
    "| 名称 | 说明 |\n|---|---|\n| 理肤泉B5修复面膜 | 修护 |\n正文\n",
    "推荐理肤泉B5修复面膜\n# 标题\n",
    "推荐理肤泉B5修复面膜",
    # the answer's own reference list is continued: markers depend on the end
    "推荐理肤泉B5修复面膜，修护好。\n\n参考：\n1. [a](https://a.test/)\n",
    "推荐理肤泉B5修复面膜。\n\n来源\n\n[1] https://a.test/\n[2] https://b.test/\n",
    "推荐理肤泉B5修复面膜。\n\n1. [a](https://a.test/)\n2. 玉泽面膜\n",
]

HTML_FORM_ANSWERS = [
    "<ul><li>推荐理肤泉B5修复面膜</li><li>玉泽面膜</li></ul><p>后记</p>",
    "<ul>\n<li>推荐理肤泉B5修复面膜\n<li>玉泽面膜\n</ul>\n<p>后记",
    "<div>推荐理肤泉B5修复面膜<b>呀</b>不错<p>x</p>玉泽面膜</div>尾巴理肤泉B5修复面膜",
    "<p>推荐<a href='https://x.test/'>理肤泉B5修复面膜</a> 和理肤泉B5修复面膜</p>",
    "<p>推荐<code>理肤泉B5修复面膜</code>和理肤泉B5修复面膜，<pre>玉泽面膜</pre>玉泽面膜</p>",
    "<!-- 理肤泉B5修复面膜 -->理肤泉B5修复面膜<!-- x",
    "<script>var a = '<p>理肤泉B5修复面膜</p>';</script><p>理肤泉B5修复面膜</p>",
    "<p>推荐<a href=\"https://x.test/\" title=\"理肤泉B5修复面膜\">玉泽面膜</a>。</p>",
    "<p>推荐<a hr",
    "推荐理肤泉B5修复面膜 &amp; 玉泽面膜\n\n<p>a</p><p>玉泽面膜 &lt; b",
    "<table><tr><td>理肤泉B5修复面膜<td>玉泽面膜</table><p>正文",
    "<blockquote><p>理肤泉B5修复面膜</p></blockquote><p>玉泽面膜</p>",
    "<html><body><p>推荐理肤泉B5修复面膜</p></body></html>\n",
    "<p>推荐理肤泉B5修复面膜</p><ol><li><a href='https://a.test/'>a</a></li></ol>",
    "<p>推荐理肤泉B5修复面膜</p><ol><li><a href='https://a.test/'>a</a></li></ol><p>x</p>",
    "<p>a < b 理肤泉B5修复面膜 <3</p><p>玉泽面膜&amp",
]


def _every_cut(linker: shoplink.Linker, answer: str, query: str | None) -> None:
    for size in (1, 2, 5):
        chunks = [answer[i : i + size] for i in range(0, len(answer), size)]
        check_stream(linker, answer, chunks, query)
    for p in range(1, len(answer)):
        check_stream(linker, answer, cut(answer, [p]), query)


@pytest.mark.parametrize(
    ("style", "numbering"),
    [("inline", "continue"), ("card", "continue"), ("reference", "continue"),
     ("reference", "separate")],
)
@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_a_name_after_a_generic_word_streams_like_whole(
    style: str, numbering: str, fmt: str
) -> None:
    # Whether the name may take the product the generic word took is carried
    # from block to block: the word's block is closed long before the name.
    answer = GENERIC_THEN_NAMED + "\n补水的面膜可以再看看美白面膜。\n"
    answer = answer if fmt == "markdown" else render(answer)
    linker = shoplink.Linker(
        generic_then_named_catalog(),
        style=style,
        format=fmt,
        max_links=None,
        reference_numbering=numbering,
    )
    assert len(linker.link(answer, "敏感肌面膜").links) == (2 if style == "card" else 3)
    _every_cut(linker, answer, "敏感肌面膜")


@pytest.mark.parametrize("style", ["inline", "card", "reference"])
@pytest.mark.parametrize("answer", MARKDOWN_FORM_ANSWERS)
def test_tricky_markdown_every_style(style: str, answer: str) -> None:
    _every_cut(FORMS[style, "markdown"], answer, "敏感肌适合用什么样的面膜")


@pytest.mark.parametrize("style", ["inline", "card", "reference"])
@pytest.mark.parametrize("answer", HTML_FORM_ANSWERS)
def test_tricky_html_every_style(style: str, answer: str) -> None:
    _every_cut(FORMS[style, "html"], answer, "敏感肌适合用什么样的面膜")


WORDS_FORMS = {
    (style, fmt): shoplink.Linker(
        WORDS_LINKER.catalog, style=style, format=fmt, max_links=None, label="us"
    )
    for style in ("inline", "card", "reference")
    for fmt in ("markdown", "html")
}

_HTML_PARTS = [
    "<p>", "</p>", "<ul>", "<ol>", "<li>", "</li>", "</ul>", "</ol>", "<div>", "</div>",
    "<a href='https://x.test/'>", "</a>", "<code>", "</code>", "<pre>", "</pre>", "<!-- ",
    " -->", "&amp;", "&lt", "<br>", "\n", " ", "<table><tr><td>", "<td>", "</td>", "</tr>",
    "</table>", "<blockquote>", "</blockquote>", "<script>", "</script>", "<b>", "</b>",
    "<h2>", "</h2>", "<body>", "</body>", " < ", "<img src='x'>", "，好用。", "and it is fine ",
]  # fmt: skip


@st.composite
def html_documents(draw: st.DrawFn) -> str:
    parts = st.sampled_from(_HTML_PARTS) | st.sampled_from(WORDS)
    return "".join(draw(st.lists(parts, max_size=40)))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(doc=documents(), style=st.sampled_from(["card", "reference"]), data=st.data())
def test_random_cuts_of_generated_markdown_every_style(
    doc: str, style: str, data: st.DataObject
) -> None:
    points = data.draw(st.lists(st.integers(0, len(doc)), max_size=30))
    check_stream(WORDS_FORMS[style, "markdown"], doc, cut(doc, points), None)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=html_documents(), style=st.sampled_from(["inline", "card", "reference"]))
def test_generated_html_every_character(doc: str, style: str) -> None:
    check_stream(WORDS_FORMS[style, "html"], doc, list(doc), None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=html_documents(), style=st.sampled_from(["inline", "card", "reference"]), data=st.data()
)
def test_random_cuts_of_generated_html(doc: str, style: str, data: st.DataObject) -> None:
    points = data.draw(st.lists(st.integers(0, len(doc)), max_size=30))
    check_stream(WORDS_FORMS[style, "html"], doc, cut(doc, points), None)


# Linkers that stop linking partway: a cap, and gate terms (filler words of
# the generated documents) tripping in some block.
_STOPPING = {
    (style, fmt, stop): shoplink.Linker(
        WORDS_LINKER.catalog,
        style=style,
        format=fmt,
        max_links=1 if stop == "cap" else None,
        gates=[Gate("stop", terms=("很好", "好用", "and"), scope="answer")] if stop == "gate" else [],
        label="us",
    )
    for style in ("inline", "card", "reference")
    for fmt in ("markdown", "html")
    for stop in ("cap", "gate")
}


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    doc=st.lists(documents(), min_size=2, max_size=4).map("\n\n".join),
    html=st.lists(html_documents(), min_size=2, max_size=4).map("".join),
    form=st.sampled_from(sorted(_STOPPING)),
    data=st.data(),
)
def test_random_cuts_when_linking_stops_partway(
    doc: str, html: str, form: tuple[str, str, str], data: st.DataObject
) -> None:
    # After the cap or a gate trip the stream passes text through: it must
    # still equal the whole answer linked, whatever the cuts.
    text = html if form[1] == "html" else doc
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=30))
    check_stream(_STOPPING[form], text, cut(text, points), None)


@pytest.mark.parametrize(
    ("text", "form"),
    [("<p><p><p><p></p>理肤泉</p><p>", ("card", "html", "cap"))],  # found by the property
)
def test_a_held_card_at_the_cap_still_waits_every_cut(text: str, form: tuple[str, str, str]) -> None:
    for at in range(len(text) + 1):
        check_stream(_STOPPING[form], text, cut(text, [at]), None)
    check_stream(_STOPPING[form], text, list(text), None)


def test_html_paragraph_is_released_when_its_end_tag_arrives() -> None:
    linker = FORMS["inline", "html"]
    stream = linker.streamer()
    first = "<p>推荐理肤泉B5修复面膜，修护好。</p>"
    out = stream.feed(first)
    assert out == linker.link(first).text  # the run closed at the complete "</p>"
    out += stream.feed("<p>另外")
    assert out == linker.link(first).text + "<p>"  # unlinked text waits a keyword's length
    out += stream.feed("<a hr")
    assert stream.pending >= len("另外<a hr")
    out += stream.feed("ef='https://x.test/'>玉泽面膜</a>。</p>") + stream.flush()
    assert out == linker.link(first + "<p>另外<a href='https://x.test/'>玉泽面膜</a>。</p>").text


def test_card_waits_for_the_list_to_end() -> None:
    linker = FORMS["card", "markdown"]
    stream = linker.streamer()
    out = stream.feed("- 推荐理肤泉B5修复面膜，修护好。\n- 玉泽面膜也不错。\n")
    out += stream.feed("- 第三项\n\n")
    assert "|---|" not in out  # the list may still go on: the card waits
    out += stream.feed("正文")
    assert out.endswith("|\n\n")  # the list ended: its card row is out
    assert out.count("|---|") == 1
    out += stream.flush()
    assert out == linker.link("- 推荐理肤泉B5修复面膜，修护好。\n- 玉泽面膜也不错。\n- 第三项\n\n正文").text


def test_card_after_a_paragraph_comes_out_with_the_next_block() -> None:
    linker = FORMS["card", "markdown"]
    stream = linker.streamer()
    out = stream.feed("推荐理肤泉B5修复面膜，修护好。\n\n")
    assert "|---|" not in out  # a list or quote may still follow: not final
    out += stream.feed("正")  # a paragraph starts here: the card goes before it
    assert "|---|" in out and out.endswith("\n\n")
    out += stream.feed("文很长" * 30)
    assert stream.pending <= LONGEST


def test_card_price_wording_follows_the_text_before_it() -> None:
    # No query: the card's wording must not depend on the language of text
    # that comes after the card.
    linker = FORMS["card", "markdown"]
    answer = "推荐理肤泉B5修复面膜，修护好。\n\n" + "Then some English text follows here. " * 20
    check_stream(linker, answer, list(answer), None)


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_reference_markers_wait_for_the_end(fmt: str) -> None:
    # The answer's own reference list at the end sets the first marker number.
    linker = FORMS["reference", fmt]
    if fmt == "markdown":
        answer = "推荐理肤泉B5修复面膜。\n\n好用。\n\n参考：\n1. [a](https://a.test/)\n"
    else:
        answer = "<p>推荐理肤泉B5修复面膜。</p><p>好用。</p><ol><li><a href='https://a.test/'>a</a></li></ol>"
    assert linker.link(answer).links[0].number == 2
    stream = linker.streamer()
    out = "".join(stream.feed(ch) for ch in answer)
    assert "理肤泉" not in out  # held from the first linked mention on
    assert out + stream.flush() == linker.link(answer).text


@pytest.mark.parametrize(
    "answer",
    [
        "<body></body>理肤泉",  # found by the property: text after the body
        "<body><p>理肤泉</p></body>\n<p>又是理肤泉</p>",
        "<html><body><p>好用</p></html>理肤泉",  # the body closed with the document
        "<BODY><p>a</p></Body >\n<p>理肤泉</p>",
    ],
)
def test_html_reference_list_waits_at_the_body_end(answer: str) -> None:
    # The list goes before ``</body>`` (or the ``</html>`` closing it), but a
    # mention after it may still be linked: from there on nothing goes out
    # before ``flush``.
    linker = _one_product_references_html()
    assert "shoplink-references" in linker.link(answer).text
    _every_cut(linker, answer, None)


def _one_product_references_html() -> shoplink.Linker:
    return shoplink.Linker(
        catalog_from_rows([product_row("p0", ["理肤泉"])]),
        style="reference",
        format="html",
        max_links=None,
    )


@pytest.mark.parametrize(
    "answer",
    [
        "<p><body><p>理肤泉",  # found by test_random_cuts_of_generated_html
        "<p><body><p>理肤泉</p></body>",
        "<div><body>a</div><p>理肤泉</p>",
        "<p><BODY><p>理肤泉</p></html>",
    ],
)
def test_a_stray_body_tag_does_not_move_the_reference_list(answer: str) -> None:
    # A ``<body>`` that something else closes (a browser ignores it) is not
    # the body whose end the list goes before: the list went before the
    # paragraph citing it, and a stream, which had already sent that text,
    # lost the list.  It now goes at the end, or before a real ``</html>``.
    linker = _one_product_references_html()
    text = linker.link(answer).text
    assert text.index("shoplink-ref") < text.index("shoplink-references")
    assert text.startswith(answer[: answer.index("理肤泉")])
    _every_cut(linker, answer, None)


def test_late_definition() -> None:
    answer = "推荐[理肤泉B5修复面膜]给你。\n\n好用。\n\n[理肤泉B5修复面膜]: https://a.test/\n"
    check_stream(LINKER, answer, list(answer), None)


def test_late_definition_turning_a_link_address_into_text() -> None:
    # Undefined, ``[玉泽][玉泽]`` is text and ``[玉泽](…)`` a link; the late
    # definition makes the first a reference link and ``(https://…)*好*``
    # text, whose address linkify links, so the paragraph is refused.  The
    # stream decided it before the definition, and linked the mask.
    answer = "推荐理肤泉B5修复面膜\n[玉泽][玉泽](https://a.test/0)*好*\n\n[玉泽]: https://a.test/late\n"
    assert not LINKER.link(answer).links
    for at in range(len(answer) + 1):
        check_stream(LINKER, answer, cut(answer, [at]))
    check_stream(LINKER, answer, list(answer))


@pytest.mark.parametrize("odd", ["\r", "\x00"])
def test_late_carriage_return_or_nul(odd: str) -> None:
    # The Markdown placement reads a lone CR as a line end and NUL as U+FFFD,
    # so a late one no longer changes blocks before it.
    answer = f"推荐理肤泉B5修复面膜给你。\n\n好用{odd}。\n"
    assert "](" in LINKER.link(answer).text
    check_stream(LINKER, answer, list(answer), None)


def test_crlf_answer() -> None:
    answer = "推荐理肤泉B5修复面膜。\r\n\r\n玉泽面膜\r\n"
    check_stream(LINKER, answer, list(answer), None)


# -- never retract, links whole, bounded delay ----------------------------------


@pytest.mark.parametrize("answer", ANSWERS[:5], ids=[a.id for a in ANSWERS[:5]])
def test_released_text_is_always_a_prefix(answer: shoplink.DemoAnswer) -> None:
    whole = WHOLE[answer.id].text
    stream = LINKER.streamer(query=answer.query)
    out = ""
    for ch in answer.answer:
        out += stream.feed(ch)
        assert whole.startswith(out)
    out += stream.flush()
    assert out == whole


@pytest.mark.parametrize("answer", ANSWERS, ids=[a.id for a in ANSWERS])
def test_delay_bound(answer: shoplink.DemoAnswer) -> None:
    # Pending text is at most the longest keyword, or else it starts at a
    # mention (or the emphasis run right before one); and a blank line
    # releases everything before it.
    text = answer.answer
    matcher = LINKER._snapshot.index.matcher
    _, delays = feed_all(LINKER, list(text), answer.query)
    for fed, pending in delays:
        released = fed - pending
        if text[:fed].endswith("\n\n"):
            assert pending == 0, fed
        if pending <= LONGEST:
            continue
        held = text[released:fed]
        if not text[released : fed - LONGEST].strip("*_~"):
            continue  # the longest keyword, plus the emphasis run before it
        run = len(held) - len(held.lstrip("*_~"))
        starts = {h.start for h in matcher.find_candidates(text[:fed])}
        assert released + run in starts, (fed, pending, held)


def test_long_answers_are_not_held_back() -> None:
    # The measured worst case over the demo answers, fed a character at a
    # time: a paragraph or table row holding a mention waits for its block
    # to close; nothing waits for the end of the answer.
    worst = 0
    for a in ANSWERS:
        _, delays = feed_all(LINKER, list(a.answer), a.query)
        worst = max(worst, max(p for _, p in delays))
        # at every newline after a closed block, little is pending
        assert max(p for _, p in delays) < len(a.answer) // 2 or len(a.answer) < 400
    assert worst <= 400


def test_closed_paragraph_then_plain_text_is_released() -> None:
    stream = LINKER.streamer()
    first = "推荐理肤泉B5修复面膜，修护效果好。\n\n"
    plain = "另外要注意防晒和保湿，换季时少用去角质的东西，多喝水早点睡觉，" * 2
    out = stream.feed(first)
    assert out == LINKER.link(first).text
    out += stream.feed(plain)
    assert stream.pending <= LONGEST
    assert out == LINKER.link(first).text + plain[: len(plain) - stream.pending]


def test_a_mention_holds_its_paragraph_until_the_block_closes() -> None:
    lead = "敏感肌换季的时候容易泛红发痒，选护肤品要以修护和保湿为主，今天"
    stream = LINKER.streamer()
    first = lead + "推荐**理肤泉B5修复面膜**，"
    out = stream.feed(first)
    # a longer keyword could still start anywhere in the last LONGEST characters
    assert out == first[: len(first) - LONGEST]
    out += stream.feed("敏感肌可用。" * 10)
    assert out == lead + "推荐"  # the mention waits: its link depends on the whole block
    out += stream.feed("\n")  # a newline does not close a paragraph (setext, tables)
    assert out == lead + "推荐"
    out += stream.feed("\n")
    answer = lead + "推荐**理肤泉B5修复面膜**，" + "敏感肌可用。" * 10 + "\n\n"
    assert out == LINKER.link(answer).text
    assert "](" in out
    assert stream.flush() == ""


# -- the three interfaces ---------------------------------------------------------


def test_push_object() -> None:
    a = ANSWERS[1]
    stream = LINKER.streamer(query=a.query)
    assert isinstance(stream, LinkStream)
    out = "".join(stream.feed(a.answer[i : i + 5]) for i in range(0, len(a.answer), 5))
    out += stream.flush()
    assert out == WHOLE[a.id].text
    assert stream.pending == 0
    with pytest.raises(RuntimeError):
        stream.feed("x")
    with pytest.raises(RuntimeError):
        stream.flush()


def test_empty_stream() -> None:
    assert list(LINKER.stream([])) == []
    assert list(LINKER.stream(["", ""])) == []


def test_bytes_chunks_may_split_characters() -> None:
    a = ANSWERS[0]
    data = a.answer.encode()
    chunks = [data[i : i + 1] for i in range(len(data))]
    assert "".join(LINKER.stream(chunks, a.query)) == WHOLE[a.id].text


def test_bad_chunks() -> None:
    with pytest.raises(shoplink.AnswerError):
        list(LINKER.stream([b"\xe9\x9d"]))  # ends inside a character
    with pytest.raises(shoplink.AnswerError):
        list(LINKER.stream([b"\xff"]))
    with pytest.raises(shoplink.AnswerError):
        list(LINKER.stream([42]))  # type: ignore[list-item]


def test_catalog_update_during_a_stream_is_not_seen() -> None:
    linker = shoplink.Linker(DEMO)
    a = ANSWERS[0]
    stream = linker.streamer(query=a.query)
    out = stream.feed(a.answer[:100])
    linker.update(catalog_from_rows([product_row("x", ["敏感肌"])]))
    out += stream.feed(a.answer[100:]) + stream.flush()
    assert out == WHOLE[a.id].text


def test_async_stream() -> None:
    a = ANSWERS[2]

    async def chunks() -> AsyncIterator[str]:
        for i in range(0, len(a.answer), 3):
            yield a.answer[i : i + 3]

    async def run() -> str:
        return "".join([piece async for piece in LINKER.astream(chunks(), a.query)])

    assert asyncio.run(run()) == WHOLE[a.id].text


# -- LLM client chunks ----------------------------------------------------------------


def _ns(value: Any) -> Any:
    """Dicts to attribute objects, the way the client SDKs' models read."""
    if isinstance(value, dict):
        return SimpleNamespace(**{k: _ns(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_ns(v) for v in value]
    return value


def _recording(name: str) -> list[dict[str, Any]]:
    lines = (DATA / name).read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


RECORDINGS = ["openai_chat.jsonl", "openai_responses.jsonl", "anthropic_messages.jsonl"]


@pytest.mark.parametrize("name", RECORDINGS)
@pytest.mark.parametrize("as_objects", [False, True])
def test_recorded_client_streams(name: str, as_objects: bool) -> None:
    events = _recording(name)
    if as_objects:
        events = [_ns(e) for e in events]
    answer = "".join(shoplink.chunk_text(e) for e in events)
    assert "理肤泉" in answer or "CeraVe" in answer
    whole = LINKER.link(answer, "敏感肌适合用什么样的面膜")
    assert whole.links
    streamed = "".join(
        LINKER.stream(shoplink.text_deltas(events), query="敏感肌适合用什么样的面膜")
    )
    assert streamed == whole.text


def test_chunk_text_shapes() -> None:
    chat = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "面膜"}}]}
    assert shoplink.chunk_text(chat) == "面膜"
    assert shoplink.chunk_text(_ns(chat)) == "面膜"
    assert shoplink.chunk_text({"choices": [{"index": 0, "delta": {"content": None}}]}) == ""
    assert shoplink.chunk_text({"choices": [], "usage": {"total_tokens": 3}}) == ""
    other = {"choices": [{"index": 1, "delta": {"content": "B"}}]}
    assert shoplink.chunk_text(other) == ""
    responses = {"type": "response.output_text.delta", "delta": "hi", "output_index": 0}
    assert shoplink.chunk_text(_ns(responses)) == "hi"
    assert shoplink.chunk_text({"type": "response.completed", "response": {}}) == ""
    text = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}
    assert shoplink.chunk_text(_ns(text)) == "x"
    thinking = {"type": "content_block_delta", "delta": {"type": "thinking_delta", "thinking": "t"}}
    assert shoplink.chunk_text(thinking) == ""
    assert shoplink.chunk_text({"type": "message_stop"}) == ""
    assert shoplink.chunk_text("plain") == "plain"
    with pytest.raises(TypeError):
        shoplink.chunk_text(3)
    with pytest.raises(TypeError):
        shoplink.chunk_text({"content": "x"})


def test_async_text_deltas() -> None:
    events = _recording("anthropic_messages.jsonl")

    async def source() -> AsyncIterator[object]:
        for e in events:
            yield _ns(e)

    async def run() -> str:
        deltas = shoplink.atext_deltas(source())
        return "".join([p async for p in LINKER.astream(deltas, "敏感肌适合用什么样的面膜")])

    answer = "".join(shoplink.chunk_text(e) for e in events)
    assert asyncio.run(run()) == LINKER.link(answer, "敏感肌适合用什么样的面膜").text


def _sse_events(path: Path) -> list[dict[str, Any]]:
    """The JSON ``data:`` payloads of a server-sent event stream."""
    events = []
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("data:"):
            events.append(json.loads(line[len("data:") :]))
    return events


SDK_RECORDINGS = sorted((DATA / "anthropic-sdk").glob("*.sse"))
SDK_LINKER = shoplink.Linker(
    catalog_from_rows(
        [
            product_row("o1", ["Claude Opus 4.7"], title="Claude Opus 4.7 subscription"),
            product_row("w1", ["weather"], title="Weather station"),
            product_row("t1", ["tax guide"], title="Tax guide 2025"),
            product_row("h1", ["Hello"], title="Hello Kitty mug"),
        ]
    ),
    label="us",
)


@pytest.mark.parametrize("path", SDK_RECORDINGS, ids=[p.stem for p in SDK_RECORDINGS])
@pytest.mark.parametrize("as_objects", [False, True])
def test_recorded_anthropic_sdk_streams(path: Path, as_objects: bool) -> None:
    events: list[Any] = _sse_events(path)
    if as_objects:
        events = [_ns(e) for e in events]
    deltas = list(shoplink.text_deltas(events))
    answer = "".join(deltas)
    # only text_delta text: no tool input JSON, citations or unknown events
    expected = "".join(
        e["delta"]["text"]
        for e in _sse_events(path)
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta"
    )
    assert answer == expected and answer
    whole = SDK_LINKER.link(answer)
    assert whole.links
    assert "".join(SDK_LINKER.stream(deltas)) == whole.text


@pytest.mark.parametrize("size", [1, 2, 3, 8, 16])
@pytest.mark.parametrize("style", ["inline", "card", "reference"])
def test_html_tag_closed_later_by_a_quote_is_not_linked_into(size: int, style: str) -> None:
    # ``<span title ="x>`` reads as a complete tag at its ``>`` until a later
    # quote turns everything up to that quote into the attribute's value: a
    # link placed in the text in between would land inside an attribute.
    answer = (
        '<p>前言</p><span title ="x>注意</span><p>推荐面膜，很好。</p>'
        '<p>理肤泉B5修复面膜也行。</p><b class="z">尾</b>'
    )
    linker = FORMS[style, "html"]
    whole = linker.link(answer)
    chunks = [answer[i : i + size] for i in range(0, len(answer), size)]
    assert "".join(linker.stream(chunks)) == whole.text


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_a_keyword_holding_the_break_character_streams_like_whole(fmt: str) -> None:
    # "3>2" holds HTML's break character: a mention may start before a ">"
    # and end after it, so plain text is not released up to the last ">".
    catalog = catalog_from_rows([product_row("c1", ["3>2面膜"]), product_row("c2", ["玉泽面膜"])])
    linker = shoplink.Linker(catalog, format=fmt, min_gap=0)
    answer = (
        "<p>推荐3>2面膜，修护好。</p><p>还有玉泽面膜。</p><p>3>2面膜</p>"
        if fmt == "html"
        else "推荐3>2面膜，修护好。\n\n还有玉泽面膜。\n\n3>\n2面膜\n"
    )
    whole = linker.link(answer).text
    # HTML links both; Markdown refuses a mention holding ">" (markup).
    assert whole.count("<a ") == 2 if fmt == "html" else whole.count("](") == 1
    assert linker._snapshot.keywords_contain(">")
    for size in (1, 2, 3, 5):
        chunks = [answer[i : i + size] for i in range(0, len(answer), size)]
        assert "".join(linker.stream(chunks)) == whole


# -- nothing more to link ------------------------------------------------------------

LONG = "\n\n".join(a.answer for a in ANSWERS)


def _relinks_streaming(
    linker: shoplink.Linker, text: str, query: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int]:
    """(re-links, most characters pending after a feed) streaming ``text`` in 16s."""
    relinks = 0
    original = LinkStream._link

    def counting(stream: LinkStream, *args: Any, **kwargs: Any) -> LinkResult:
        nonlocal relinks
        relinks += 1
        return original(stream, *args, **kwargs)

    monkeypatch.setattr(LinkStream, "_link", counting)
    stream = linker.streamer(query)
    pending = 0
    for i in range(0, len(text), 16):
        stream.feed(text[i : i + 16])
        pending = max(pending, stream.pending) if i > len(text) // 2 else 0
    monkeypatch.undo()
    return relinks, pending


@pytest.mark.parametrize("form", list(FORMS), ids=FORM_IDS)
@pytest.mark.parametrize("max_links", [0, 1, 3])
def test_after_the_cap_text_goes_out_as_it_comes(
    form: tuple[str, str], max_links: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Once max_links links (and their cards) are out, later mentions are all
    # capped: the stream stops re-linking and passes the text through.
    style, fmt = form
    linker = shoplink.Linker(DEMO, style=style, format=fmt, max_links=max_links)
    text = LONG if fmt == "markdown" else render(LONG)
    query = ANSWERS[0].query
    for size in (1, 7, 64):
        check_stream(linker, text, [text[i : i + size] for i in range(0, len(text), size)], query)
    relinks, pending = _relinks_streaming(linker, text, query, monkeypatch)
    # a re-link per block with a link, at most, until the cap
    assert relinks <= 2 * max_links + 2, relinks
    if style == "reference" and max_links:
        return  # the markers' numbers wait for the end of the answer
    assert pending <= 16, pending


@pytest.mark.parametrize("form", list(FORMS), ids=FORM_IDS)
def test_a_gated_query_streams_the_answer_as_it_is(
    form: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every mention is gated: nothing is ever inserted, so nothing waits.
    linker = FORMS[form]
    text = answer_in(form[1], ANSWERS[0])
    query = "湿疹反复发作，用什么药膏能根治？"
    assert not linker.link(text, query).insertions
    monkeypatch.setattr(LinkStream, "_link", lambda *a, **k: pytest.fail("no re-link needed"))
    stream = linker.streamer(query)
    out = []
    for i in range(0, len(text), 5):
        out.append(stream.feed(text[i : i + 5]))
        assert stream.pending == 0
    monkeypatch.undo()
    out.append(stream.flush())
    assert "".join(out) == text


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_after_the_cap_a_held_card_still_waits(fmt: str) -> None:
    # The one link allowed is in a list: its card goes after the list, so
    # the text after the mention waits for the list's end even though no
    # later mention can be linked.
    linker = shoplink.Linker(DEMO, style="card", format=fmt, max_links=1)
    text = "推荐这些：\n\n- 玉泽面膜很温和\n- 雅漾面膜也不错\n- 理肤泉B5修复面膜\n\n最后说一句面膜。\n"
    if fmt == "html":
        text = render(text)
    for size in (1, 3, 16):
        check_stream(linker, text, [text[i : i + size] for i in range(0, len(text), size)], "敏感肌适合用什么样的面膜")


def _uncapped(form: tuple[str, str], markdown: str) -> tuple[shoplink.Linker, str]:
    """A linker of the form with no cap, and the answer in its format."""
    style, fmt = form
    linker = shoplink.Linker(DEMO, style=style, format=fmt, max_links=None)
    return linker, render(markdown) if fmt == "html" else markdown


def _check_sizes(
    linker: shoplink.Linker, text: str, query: str | None, sizes: Iterable[int]
) -> None:
    for size in sizes:
        check_stream(linker, text, [text[i : i + size] for i in range(0, len(text), size)], query)


@pytest.mark.parametrize("form", list(FORMS), ids=FORM_IDS)
def test_after_a_gate_trips_text_goes_out_as_it_comes(
    form: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every mention in a block after the answer's first trip is gated.
    style = form[0]
    linker, text = _uncapped(
        form, "推荐玉泽面膜。\n\n抱歉，我无法提供诊断。\n\n" + "雅漾面膜很好，理肤泉B5修复面膜也行。\n\n" * 30
    )
    query = "敏感肌适合用什么样的面膜"
    whole = linker.link(text, query)
    assert len(whole.links) == 1
    assert {s.reason for s in whole.skipped} == {SkipReason.GATED}
    _check_sizes(linker, text, query, (1, 16))
    relinks, pending = _relinks_streaming(linker, text, query, monkeypatch)
    assert relinks <= 4, relinks
    if style != "reference":  # the markers' numbers wait for the end of the answer
        assert pending <= 16, pending


@pytest.mark.parametrize("form", list(FORMS), ids=FORM_IDS)
def test_names_already_linked_cost_no_re_link(
    form: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long list naming the same two products on every line: only the
    # first line's names are linked (a name links once per answer).  The
    # later lines can take no link, so they go out without a re-link each
    # (which would copy everything decided so far: quadratic time).  A card
    # in a list waits for the list's end, looking only at each new line.
    items = "".join("  " * (i % 3) + f"- 第{i}项：理肤泉B5修复面膜和玉泽面膜\n" for i in range(60))
    linker, text = _uncapped(form, "看看这些：\n\n" + items + "\n总之都不错。\n")
    assert len(linker.link(text).links) == 2
    _check_sizes(linker, text, None, (1, 5, 16, 64))
    relinks, _pending = _relinks_streaming(linker, text, "", monkeypatch)
    assert relinks <= 4, relinks  # 59-67 when each line re-linked


@pytest.mark.parametrize(
    "after",
    [
        "正文。\n",  # a paragraph: the card goes before it
        "1986年的配方。\n",  # starts like an ordered list item, and is not one
        "-\n正文\n",  # a marker alone on its line
        "接着写\n\n正文\n",  # a lazy continuation line first, then a paragraph
        "  缩进\n> 引用\n\n正文\n",  # more of the list, a quote, then a paragraph
    ],
)
def test_a_card_held_by_a_list_comes_out_when_the_list_ends(after: str) -> None:
    linker = shoplink.Linker(DEMO, style="card", max_links=None)
    text = "- 推荐理肤泉B5修复面膜\n  - 玉泽面膜也行\n- 第三项\n" + after
    whole = linker.link(text)
    row = min(ins.at for ins in whole.insertions if "|---|" in ins.text)
    for size in range(1, 12):
        check_stream(linker, text, [text[i : i + size] for i in range(0, len(text), size)])
    # The row is out once the stream has seen where it goes: the line it
    # goes before is complete and followed by a character.
    stream = linker.streamer()
    out = ""
    for i, ch in enumerate(text):
        out += stream.feed(ch)
        if i > row and "\n" in text[row:i]:
            assert "|---|" in out, (i, out)


def test_a_pattern_trip_does_not_end_linking(monkeypatch: pytest.MonkeyPatch) -> None:
    # A pattern's match can still change as the text grows: the stream keeps
    # re-linking after it (and still equals the whole answer linked), where
    # after the same trip by a term it passes the text through.
    text = "推荐玉泽面膜。\n\n狗粮\n\n" + "雅漾面膜很好。\n\n" * 8
    query = "敏感肌适合用什么样的面膜"
    counts = []
    for gate in (Gate("pets", terms=("狗粮",)), Gate("pets", patterns=("狗+粮",))):
        linker = shoplink.Linker(DEMO, gates=[gate], max_links=None)
        assert len(linker.link(text, query).links) == 1
        for size in (1, 16):
            check_stream(linker, text, [text[i : i + size] for i in range(0, len(text), size)], query)
        counts.append(_relinks_streaming(linker, text, query, monkeypatch)[0])
    assert counts[0] <= 2 < counts[1], counts


def test_a_trip_in_a_block_still_open_does_not_end_linking() -> None:
    # When the re-link sees the refusal, it is in a heading after a
    # paragraph still open: that paragraph's mention is not gated (its block
    # ends before the trip), so the stream must not pass text through yet.
    linker = shoplink.Linker(DEMO, style="card", max_links=None)
    text = "推荐玉泽面膜。\n\n雅漾面膜很好\n# 抱歉，我无法提供\n\n理肤泉B5修复面膜\n"
    query = "敏感肌适合用什么样的面膜"
    assert len(linker.link(text, query).links) == 2
    for size in range(1, 40):
        check_stream(linker, text, [text[i : i + size] for i in range(0, len(text), size)], query)
