"""The three link forms (inline, card, reference) in Markdown and HTML."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoplink
from shoplink import Catalog, _styles
from shoplink._markdown import MarkdownLayout
from tests.conftest import catalog_from_rows, product_row
from tests.oracle import render
from tests.strategies_markdown import documents

NOW = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)
STYLES = ("inline", "card", "reference")


def shop_catalog() -> Catalog:
    return catalog_from_rows(
        [
            product_row(
                "m1",
                ["理肤泉B5修复面膜"],
                title="理肤泉B5修复面膜 5片",
                image_url="https://item.jd.com/img/m1.jpg",
                price="139.00",
                currency="CNY",
                price_checked_at="2026-11-20T08:00:00Z",
            ),
            product_row(
                "m2",
                ["薇诺娜舒敏保湿面膜"],
                title="薇诺娜舒敏保湿面膜 6片",
                price="118.00",
                currency="CNY",
                price_checked_at="2026-10-01T08:00:00Z",
            ),
            product_row(
                "c1",
                ["CeraVe cream"],
                title="CeraVe Hydrating Cream",
                price="19.99",
                currency="USD",
            ),
        ]
    )


def inserted_hrefs(result: shoplink.LinkResult) -> set[str]:
    return {link.url for link in result.links}


def drop_tables_with(html: str, hrefs: set[str]) -> str:
    def keep(m: re.Match[str]) -> str:
        return "" if any(f'href="{h}"' in m.group(0) for h in hrefs) else m.group(0)

    return re.sub(r"<table>.*?</table>\n", keep, html, flags=re.DOTALL)


# -- Markdown cards ---------------------------------------------------------

MARKDOWN_CASES = [
    "推荐理肤泉B5修复面膜，温和。\n",
    "推荐理肤泉B5修复面膜，温和。",
    "- 理肤泉B5修复面膜\n- 薇诺娜舒敏保湿面膜\n\n结束。\n",
    "1. **理肤泉B5修复面膜**：好\n2. 薇诺娜舒敏保湿面膜\n3. 别的\n下一行\n",
    "> 引用里的理肤泉B5修复面膜\n> 第二行\n\n后文\n",
    "- 外层\n  - 内层理肤泉B5修复面膜\n\n    续段\n- 另一项\n# 标题\n",
    "段落理肤泉B5修复面膜\n## 标题\n正文薇诺娜舒敏保湿面膜\n```\ncode\n\nmore\n```\n",
    "| 名称 | 说明 |\n|---|---|\n| 理肤泉B5修复面膜 | 好 |\n后续\n\n尾\n",
    "Try CeraVe cream at night.\n\n    indented code\n",
]


@pytest.mark.parametrize("answer", MARKDOWN_CASES)
def test_markdown_cards_follow_the_block_and_change_nothing_else(answer: str) -> None:
    result = shoplink.Linker(shop_catalog(), style="card").link(answer, now=NOW)
    assert result.links, "every case names a product"
    assert result.strip() == answer
    hrefs = inserted_hrefs(result)
    after = render(result.text)
    assert drop_tables_with(after, hrefs) == render(answer)
    # Cards never sit inside a list item or quote.
    for container in ("li", "blockquote"):
        for m in re.finditer(rf"<{container}>.*?</{container}>", after, flags=re.DOTALL):
            assert not any(h in m.group(0) for h in hrefs)
    for link in result.links:
        assert link.card_at is not None and link.offer is not None
    # (The mention itself is not linked in card style: the equality above.)


def test_several_cards_after_one_block_form_one_row() -> None:
    answer = "推荐理肤泉B5修复面膜和薇诺娜舒敏保湿面膜。\n\n其他。\n"
    result = shoplink.Linker(shop_catalog(), style="card", price_max_age=None).link(answer, now=NOW)
    assert len({link.card_at for link in result.links}) == 1
    html = render(result.text)
    assert html.count("<table>") == 1
    assert html.count("<th>") == 2  # two cards, one column each
    assert '<img src="https://item.jd.com/img/m1.jpg"' in html
    assert "¥139.00（2026-11-20 价格）" in html
    assert "jd · 广告" in html


# -- Markdown references ----------------------------------------------------


def _without_references(html: str, result: shoplink.LinkResult) -> str:
    for link in result.links:
        html = html.replace(f"【{link.number}】", "")
    return re.sub(r"<p><strong>购物链接</strong></p>\n<ol>.*?</ol>\n$", "", html, flags=re.DOTALL)


def _anchor_by_scanning_all_blocks(text: str, layout: MarkdownLayout, pos: int) -> int:
    # The card anchor rule read literally: every block in order.
    block = layout.block_at(pos)
    after = block.end if block is not None else pos
    top_level = block is not None and not _styles._CONTAINER_LINE.match(text, block.start)
    for b in layout.blocks:
        if top_level and b.start >= after and b.kind != "blank":
            return b.start
        if b.start < after or b.kind == "blank":
            continue
        if not _styles._CONTAINER_LINE.match(text, b.start) and text[b.start : b.start + 1] not in (
            "",
            "\n",
        ):
            return b.start
    return len(text)


def _gap_from_the_text_before(text: str, at: int) -> str:
    before = text[:at]
    if not before:
        return ""
    if not before.endswith("\n"):
        return "\n\n"
    return "" if not before[:-1].rsplit("\n", 1)[-1].strip() else "\n"


@settings(max_examples=150, deadline=None)
@given(doc=documents(), data=st.data())
def test_card_anchor_and_gap_match_their_plain_reading(doc: str, data: st.DataObject) -> None:
    layout = MarkdownLayout.analyze(doc)
    positions = data.draw(st.lists(st.integers(0, len(doc)), max_size=8))
    for pos in [0, len(doc), *positions]:
        assert _styles.markdown_card_anchor(doc, layout, pos) == _anchor_by_scanning_all_blocks(
            doc, layout, pos
        )
        assert _styles._block_gap(doc, pos) == _gap_from_the_text_before(doc, pos)


@pytest.mark.parametrize("answer", [*MARKDOWN_CASES[:8], "这是**理肤泉B5修复面膜**的。\n"])
def test_markdown_reference_markers_change_no_rendering(answer: str) -> None:
    result = shoplink.Linker(shop_catalog(), style="reference").link(answer, now=NOW)
    assert result.links and result.strip() == answer
    assert [link.number for link in result.links] == list(range(1, len(result.links) + 1))
    assert _without_references(render(result.text), result) == render(answer)
    html = render(result.text)
    for link in result.links:
        assert f"【{link.number}】" in html
        assert f'<a href="{link.url}">' in html


def test_reference_list_continues_the_answers_own_list() -> None:
    answer = (
        "理肤泉B5修复面膜适合敏感肌。\n\n参考资料：\n"
        "1. [皮肤屏障综述](https://example.org/a)\n2. [面膜指南](https://example.org/b)\n"
    )
    result = shoplink.Linker(shop_catalog(), style="reference").link(answer, now=NOW)
    assert result.strip() == answer
    assert result.text.endswith(
        "\n3. [理肤泉B5修复面膜 5片](https://item.jd.com/m1.html) · "
        "¥139.00（2026-11-20 价格） · jd · 广告\n"
    )
    assert "理肤泉B5修复面膜【3】" in result.text
    html = render(result.text)
    assert html.count("<ol>") == 1 and html.count("<li>") == 3


def test_reference_list_continues_bracket_numbering() -> None:
    answer = "用理肤泉B5修复面膜。\n\n来源\n[1] https://example.org/a\n[2] https://example.org/b"
    result = shoplink.Linker(shop_catalog(), style="reference").link(answer, now=NOW)
    assert result.strip() == answer
    assert result.text.startswith("用理肤泉B5修复面膜【3】。")
    assert "\n[2] https://example.org/b\n\\[3\\] [理肤泉B5修复面膜 5片]" in result.text


def test_ordinary_numbered_list_at_the_end_is_not_a_reference_list() -> None:
    answer = "步骤：\n\n1. 洗脸\n2. 敷理肤泉B5修复面膜\n"
    result = shoplink.Linker(shop_catalog(), style="reference").link(answer, now=NOW)
    assert result.links[0].number == 1
    assert "**购物链接**" in result.text


# -- HTML -------------------------------------------------------------------


class _Text(HTMLParser):
    """Text content, skipping every element whose class starts with shoplink-."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        hidden = self.skip or (cls.startswith("shoplink-") and cls != "shoplink-link")
        if hidden and tag not in ("img", "br"):
            self.skip.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skip and self.skip[-1] == tag:
            self.skip.pop()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


HTML_ANSWER = (
    "<h2>理肤泉B5修复面膜</h2><p>推荐<b>理肤泉B5修复面膜</b>，"
    "<a href='https://x.example/'>薇诺娜舒敏保湿面膜</a> &amp; 薇诺娜舒敏保湿面膜。</p>"
    "<ul><li>CeraVe cream &amp; more</li></ul><pre>理肤泉B5修复面膜</pre>"
    "<!-- 理肤泉B5修复面膜 --><p title='理肤泉B5修复面膜'>end</p>"
)


@pytest.mark.parametrize("style", STYLES)
def test_html_forms_touch_text_nodes_only(style: str) -> None:
    result = shoplink.Linker(shop_catalog(), style=style, format="html").link(HTML_ANSWER, now=NOW)
    assert result.strip() == HTML_ANSWER
    assert [link.mention for link in result.links] == [
        "理肤泉B5修复面膜",
        "薇诺娜舒敏保湿面膜",
        "CeraVe cream",
    ]
    reasons = sorted(s.reason.value for s in result.skipped)
    # in_html: the comment and the attribute
    assert reasons == ["in_code", "in_heading", "in_html", "in_html", "in_link"]
    # Only the new elements added: the text without them is the answer's text.
    assert text_of(result.text) == text_of(HTML_ANSWER)
    assert "<!-- 理肤泉B5修复面膜 -->" in result.text
    assert "title='理肤泉B5修复面膜'" in result.text
    if style == "inline":
        assert (
            'rel="sponsored nofollow noopener" target="_blank">理肤泉B5修复面膜</a>' in result.text
        )
    if style == "card":
        assert result.text.count("<figure") == 3
        assert '</ul><div class="shoplink-cards"' in result.text
    if style == "reference":
        assert '理肤泉B5修复面膜<sup class="shoplink-ref">[1]</sup>' in result.text


def test_html_never_splits_a_character_reference() -> None:
    cat = catalog_from_rows([product_row("x", ["amp"]), product_row("y", ["nbsp"])])
    answer = "<p>a &amp; b &nbsp; amp</p>"
    result = shoplink.Linker(cat, format="html", label=None).link(answer, now=NOW)
    assert [link.start for link in result.links] == [answer.rindex("amp")]
    assert result.strip() == answer


@pytest.mark.parametrize(
    "answer",
    [
        "<p>理肤泉B5修复面膜",
        "<div><p>理肤泉B5修复面膜<p>再一段</div>",
        "</b></p>理肤泉B5修复面膜<<>>",
        "<table><tr>理肤泉B5修复面膜<td>理肤泉B5修复面膜</table>",
        "<![CDATA[理肤泉B5修复面膜]]><script>理肤泉B5修复面膜</script>",
        "<p>理肤泉B5修<!-- x -->复面膜</p>",
        "<textarea>理肤泉B5修复面膜</textarea><svg><text>理肤泉B5修复面膜</text></svg>",
    ],
)
@pytest.mark.parametrize("style", STYLES)
def test_malformed_html_does_not_crash_or_lose_text(answer: str, style: str) -> None:
    result = shoplink.Linker(shop_catalog(), style=style, format="html").link(answer, now=NOW)
    assert result.strip() == answer
    for link in result.links:
        assert answer[link.start : link.end] == link.mention


# -- prices, labels, templates, structured output ---------------------------


def test_stale_and_future_prices_are_left_out() -> None:
    linker = shoplink.Linker(shop_catalog(), style="reference")
    answer = "理肤泉B5修复面膜和薇诺娜舒敏保湿面膜。"
    result = linker.link(answer, now=NOW)
    fresh, stale = (link.offer for link in result.links)
    assert fresh is not None and stale is not None
    assert fresh.price_text == "¥139.00" and not fresh.price_withheld
    assert stale.price is None and stale.price_withheld
    assert "¥118" not in result.text and "价格以店铺为准" in result.text
    past = linker.link(answer, now=dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc))
    assert past.links[0].offer is not None and past.links[0].offer.price_withheld  # future check
    everything = shoplink.Linker(shop_catalog(), style="card", price_max_age=None).link(
        answer, now=NOW
    )
    assert "¥118.00（2026-10-01 价格）" in everything.text


def test_price_without_check_time_is_shown_without_date() -> None:
    result = shoplink.Linker(shop_catalog(), style="reference").link("Try CeraVe cream.", now=NOW)
    assert "\\$19.99 · jd · Sponsored" in result.text


@pytest.mark.parametrize("fmt", ["markdown", "html"])
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("label", ["cn", "us", "Affiliate link", None])
def test_disclosure_on_every_link_card_and_entry(style: str, fmt: str, label: str | None) -> None:
    answer = "理肤泉B5修复面膜和薇诺娜舒敏保湿面膜。"
    if fmt == "html":
        answer = f"<p>{answer}</p>"
    # min_gap=0: two adjacent names, both disclosed (density is tested elsewhere).
    linker = shoplink.Linker(shop_catalog(), style=style, format=fmt, label=label, min_gap=0)
    result = linker.link(answer, now=NOW)
    assert len(result.links) == 2
    text = {"cn": "广告", "us": "Sponsored", None: None}.get(label, label)
    if text is None:
        assert "广告" not in result.text and "Sponsored" not in result.text
    else:
        assert result.text.count(text) == 2


def test_one_template_is_overridden_the_others_stay(tmp_path: Path) -> None:
    (tmp_path / "card.md.j2").write_text(
        "{% for c in cards %}CARD {{ c.title | md_inline }} {{ label }}\n{% endfor %}"
    )
    result = shoplink.Linker(shop_catalog(), style="card", templates=tmp_path).link(
        "推荐理肤泉B5修复面膜。", now=NOW
    )
    assert result.text == "推荐理肤泉B5修复面膜。\n\nCARD 理肤泉B5修复面膜 5片 广告\n"
    loader = jinja2.DictLoader({"reference_marker.html.j2": "<sup>({{ number }})</sup>"})
    html = shoplink.Linker(shop_catalog(), style="reference", format="html", templates=loader).link(
        "<p>理肤泉B5修复面膜</p>", now=NOW
    )
    assert "理肤泉B5修复面膜<sup>(1)</sup>" in html.text
    assert 'class="shoplink-references"' in html.text  # the list template is still built in


def test_broken_template_fails_at_construction(tmp_path: Path) -> None:
    (tmp_path / "reference_marker.md.j2").write_text("[{{ number }}]")
    with pytest.raises(shoplink.ConfigError):
        shoplink.Linker(shop_catalog(), style="reference", templates=tmp_path)
    (tmp_path / "card.html.j2").write_text("{{ nope }}")
    with pytest.raises(shoplink.ConfigError):
        shoplink.Linker(shop_catalog(), style="card", format="html", templates=tmp_path)


@pytest.mark.parametrize("style", STYLES)
def test_to_dict_gives_the_whole_plan(style: str) -> None:
    result = shoplink.Linker(shop_catalog(), style=style).link("推荐理肤泉B5修复面膜。", now=NOW)
    data = json.loads(json.dumps(result.to_dict()))
    assert (data["style"], data["format"]) == (style, "markdown")
    (link,) = data["links"]
    assert link["offer"]["price"] == "139.00" and link["offer"]["currency"] == "CNY"
    assert link["offer"]["image_url"] == "https://item.jd.com/img/m1.jpg"
    assert link["url"] == "https://item.jd.com/m1.html" and link["label"] == "广告"
    assert link["number"] == (1 if style == "reference" else None)
    assert (link["card_at"] is not None) == (style == "card")


def test_default_stylesheet_is_a_package_resource() -> None:
    css = shoplink.default_stylesheet()
    for cls in ("shoplink-card", "shoplink-label", "shoplink-references", "shoplink-ref"):
        assert f".{cls}" in css


# -- prices escaped only where Markdown needs it, card headers (issue 18) ----


@pytest.mark.parametrize("currency", ["CNY", "USD", "EUR", "GBP", "JPY", "HKD", "CHF", "KRW"])
@pytest.mark.parametrize("amount", ["0", "9.5", "109", "1234.56", "1234567.891"])
def test_prices_render_as_before_without_needless_escapes(currency: str, amount: str) -> None:
    from decimal import Decimal

    from shoplink._offers import format_price
    from shoplink._urls import markdown_inline, markdown_price

    text = format_price(Decimal(amount), currency)
    shown = markdown_price(text)
    assert "\\." not in shown and "\\," not in shown  # ¥109.00, not ¥109\.00
    for line in (f"| {shown} |\n|---|\n", f"{shown} · 京东\n", f"1. [t](https://x.cn) · {shown}\n"):
        assert render(line) == render(line.replace(shown, markdown_inline(text)))


@settings(max_examples=200)
@given(st.text(alphabet="0123456789.,$¥€ -*_`[]()<>|&#!:/@\\~aZ\n", max_size=20))
def test_price_escaping_renders_any_text_as_the_full_escaping_does(text: str) -> None:
    from shoplink._urls import markdown_inline, markdown_price

    for line in ("x {} y\n", "| {} |\n|---|\n", "{}\n"):
        assert render(line.format(markdown_price(text))) == render(
            line.format(markdown_inline(text))
        ), text


def test_demo_prices_read_plainly_in_the_terminal() -> None:
    out = shoplink.Linker(shoplink.demo_catalog(), style="card").link(
        shoplink.demo_answers()[0].answer, now=NOW
    )
    assert re.search(r"¥[0-9]+\.[0-9]{2}", out.text) and not re.search(r"¥[0-9]+\\\.", out.text)


def test_markdown_card_without_picture_has_the_title_as_header() -> None:
    linker = shoplink.Linker(shop_catalog(), style="card", price_max_age=None)
    result = linker.link("推荐薇诺娜舒敏保湿面膜。\n", now=NOW)
    (row,) = [ins.text for ins in result.insertions if "|---" in ins.text]
    header = row.strip("\n").split("\n")[0]
    assert header.startswith("| **[薇诺娜舒敏保湿面膜 6片](") and "| jd " not in header
    html = render(result.text)
    assert "<th>jd</th>" not in html and "<th><strong><a href" in html
    # Beside a card with a picture, its header cell is empty, not the shop.
    both = linker.link("推荐理肤泉B5修复面膜和薇诺娜舒敏保湿面膜。\n", now=NOW)
    (row,) = [ins.text for ins in both.insertions if "|---" in ins.text]
    header = row.strip("\n").split("\n")[0]
    assert header.startswith("| ![") and header.endswith("|  |") and "| jd " not in header
