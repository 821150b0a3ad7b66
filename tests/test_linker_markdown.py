"""The linker on generated Markdown: several links per answer render faithfully."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, example, given, settings

import shoplink

from .conftest import catalog_from_rows, product_row
from .oracle import bad_link_contexts, render, strip_inserted
from .strategies_markdown import WORDS, documents

# one product per vocabulary word that is a plausible product keyword
KEYWORDS = WORDS
CATALOG = catalog_from_rows([product_row(f"p{i}", [w]) for i, w in enumerate(KEYWORDS)])
HREFS = {f"https://item.jd.com/p{i}.html" for i in range(len(KEYWORDS))}
LABELS = frozenset({"（广告）", " (Sponsored)", "（Sponsored）", " (广告)"})
LINKER = shoplink.Linker(CATALOG, max_links=None)

_PROPERTY = settings(
    max_examples=int(os.environ.get("SHOPLINK_MD_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_linked(answer: str) -> shoplink.LinkResult:
    result = LINKER.link(answer)
    assert result.strip() == answer
    html, removed = strip_inserted(render(result.text), HREFS, LABELS)
    assert removed == len(result.links), (answer, result.text)
    assert html == render(answer), (answer, result.text)
    found, bad = bad_link_contexts(result.text, HREFS)
    assert found == len(result.links) and not bad, (result.text, bad)
    return result


@_PROPERTY
@example("**理肤泉**和**玉泽**都好\n")
@example("*理肤泉 *玉泽* 面膜*\n")
@example("**理肤泉****玉泽**\n")
@example("_理肤泉_玉泽_面膜_\n")
@example("理肤泉面膜适乐肤\r\n玉泽 CeraVe\r\n")
@given(documents())
def test_links_render_faithfully(answer: str) -> None:
    check_linked(answer)


def test_long_paragraph_many_mentions() -> None:
    answer = "推荐**理肤泉**和玉泽，面膜也行。" * 50 + "\n"
    result = check_linked(answer)
    assert len(result.links) == 3
