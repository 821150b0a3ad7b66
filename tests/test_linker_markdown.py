"""The linker on generated Markdown: several links per answer render faithfully."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import shoplink
from shoplink._markdown import MarkdownLayout, Placement

from .conftest import catalog_from_rows, product_row
from .oracle import bad_link_contexts, insert, render, strip_inserted
from .strategies_markdown import WORDS, dense_emphasis, documents

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
@example("[ref]: https://a.test/ref\n1. \n       理肤泉 code\n")  # empty item after a definition
@example("理肤泉https://a.test/x\n理肤泉~~www.a.com")  # linkify: "~" and Han in a domain
@example(".CeraVehttps://a.test/x\n")  # a link's suffix would make the scheme a link
# found by a long run: the paragraph fails linkify's pretest (".com" is
# followed by a Han character, then by "<"), and our link's https:// would
# open it, making the second "理肤泉.com" (its own text token) a link
@example("理肤泉.com理肤泉\n理肤泉.com<b>理肤泉</b>理肤泉")
@given(documents())
def test_links_render_faithfully(answer: str) -> None:
    check_linked(answer)


def test_long_paragraph_many_mentions() -> None:
    answer = "推荐**理肤泉**和玉泽，面膜也行。" * 50 + "\n"
    result = check_linked(answer)
    assert len(result.links) == 3


# ---------------------------------------------------------------------------
# several links in one paragraph: each checked against the ones already placed


@_PROPERTY
@example("**x**_玉泽*~~CeraVe~~***面膜*\n", [0, 1, 2])
@example(
    "```\n很好 *x* [a](b)\n```\n理肤泉\n```\n很好 *x* [a](b)\n```\n"
    "理肤泉理肤泉<https://a.test/x>.CeraVehttps://a.test/x",
    [3],
)
@given(st.one_of(dense_emphasis(), documents()), st.lists(st.integers(0, 50), max_size=8))
def test_placements_checked_together_render_faithfully(answer: str, order: list[int]) -> None:
    """``place(..., accepted=...)`` in any order: all accepted links together are safe."""
    layout = MarkdownLayout.analyze(answer)
    mentions = [m.span() for m in re.finditer("|".join(map(re.escape, KEYWORDS)), answer)]
    # decide in a drawn order (the linker decides specific names first)
    ordered = [mentions[i % len(mentions)] for i in order] if mentions else []
    accepted: list[tuple[Placement, str, str]] = []
    hrefs = set()
    for k, (start, end) in enumerate(dict.fromkeys(ordered)):
        href = f"https://item.jd.com/q{k}.html"
        suffix = f"]({href})（广告）"
        where = layout.place(start, end, "[", suffix, accepted)
        if isinstance(where, Placement):
            accepted.append((where, "[", suffix))
            hrefs.add(href)
    after = insert(answer, [(p.start, p.end, pre, suf) for p, pre, suf in accepted])
    html, removed = strip_inserted(render(after), hrefs, {"（广告）"})
    assert removed == len(accepted) and html == render(answer), (answer, after)


@pytest.mark.parametrize(
    "answer",
    [
        "**x**_玉泽*~~CeraVe~~***面膜*\n",
        "_玉泽~~***理肤泉*~~理肤泉~~*~~面膜~~x_理肤泉**serum***\n",
        "serumx_理肤泉_**~~x~~**_玉泽__CeraVe***x~~CeraVe~~\n",
    ],
)
def test_linker_links_together_keep_emphasis(answer: str) -> None:
    check_linked(answer)
