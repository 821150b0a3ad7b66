"""Money never decides: commissions, prices, currencies and house status change no choice.

Structurally, ranking sees only ``RelevanceProfile`` (no money, no merchant);
these properties check the whole pipeline end to end.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings

import shoplink
from shoplink import _rank
from tests.strategies_neutrality import DEMO, answers, money_variants, queries

LINKER = shoplink.Linker(DEMO, max_links=None)


def decisions(result: shoplink.LinkResult) -> tuple[Any, ...]:
    links = tuple(
        (lk.start, lk.end, lk.product_id, lk.keyword, lk.candidates, lk.wrap_start, lk.wrap_end)
        for lk in result.links
    )
    skips = tuple((s.start, s.end, s.reason, s.detail) for s in result.skipped)
    return links, skips, result.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(money_variants(), answers, queries)
def test_money_and_house_status_change_no_decision(
    variant: shoplink.Catalog, answer: str, query: str | None
) -> None:
    other = shoplink.Linker(variant, max_links=None)
    assert decisions(LINKER.link(answer, query)) == decisions(other.link(answer, query))


def test_swapping_the_house_shop_moves_no_choice() -> None:
    by_house: dict[str, list[Any]] = {}
    for house in sorted(DEMO.merchants):
        merchants = [attrs.evolve(m, house=m.id == house) for m in DEMO.merchants.values()]
        catalog = shoplink.Catalog.build(DEMO.products, merchants=merchants, terms=DEMO.terms.values())
        linker = shoplink.Linker(catalog)
        results = [linker.link(a.answer, a.query) for a in shoplink.demo_answers()]
        for r in results:
            for lk in r.links:
                assert lk.house == (lk.merchant == house)  # flagged on every link
        by_house[house] = [decisions(r) for r in results]
    first, *rest = by_house.values()
    assert all(other == first for other in rest)


def test_ranking_functions_never_receive_money_or_merchant() -> None:
    forbidden = {"price", "currency", "commission_rate", "merchant", "house", "url"}
    assert not forbidden & {f.name for f in attrs.fields(shoplink.RelevanceProfile)}
    for fn in (_rank.choose, _rank.score):
        hints = typing.get_type_hints(fn)
        assert "Product" not in str(hints) and "CommercialTerms" not in str(hints)
        assert "RelevanceProfile" in str(hints)
        assert not forbidden & set(inspect.signature(fn).parameters)
    assert "_model import RelevanceProfile" in inspect.getsource(_rank)
    assert "Product," not in inspect.getsource(_rank)


# ---------------------------------------------------------------- exact ties

from hypothesis import strategies as st  # noqa: E402

_ids = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=1, max_size=24
).filter(lambda s: s.strip() == s)
# Distinct answers that mention the tied name once each, in different words.
_TIE_ANSWERS = [
    f"{lead}，保湿面膜{tail}（第{i}次）。"
    for i in range(40)
    for lead, tail in (("试试", "吧"), ("我用过", "还不错"), ("可以考虑", ""))
]


def _tied_catalog(a: str, b: str, house: str) -> shoplink.Catalog:
    rows = [
        shoplink.Product(pid, shop, "保湿面膜 补水", f"https://{shop}.example/{n}", ("保湿面膜",))
        for n, (pid, shop) in enumerate(((a, "shop-a"), (b, "shop-b")))
    ]
    merchants = [shoplink.Merchant(m, house=m == house) for m in ("shop-a", "shop-b")]
    return shoplink.Catalog.build(rows, merchants=merchants)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ids, _ids, st.sampled_from(["shop-a", "shop-b"]))
def test_exact_ties_are_shared_whatever_the_ids(a: str, b: str, house: str) -> None:
    # A catalog builder chooses ids: whatever they are, two equally relevant
    # products each win about half of the ties over many answers, and every
    # link records the tie and how it was broken.
    if a == b:
        b = a + "x"
    linker = shoplink.Linker(_tied_catalog(a, b, house))
    wins = {a: 0, b: 0}
    for answer in _TIE_ANSWERS:
        (link,) = linker.link(answer).links
        assert sorted(link.tied) == sorted((a, b)) and "2-way tie" in link.tie_break
        assert link.candidates[0].score == link.candidates[1].score
        wins[link.product_id] += 1
    share = wins[a] / len(_TIE_ANSWERS)
    assert 0.4 <= share <= 0.6, wins


def test_tie_breaks_are_the_same_in_a_stream() -> None:
    linker = shoplink.Linker(_tied_catalog("house-000", "zzz", "shop-a"))
    for answer in _TIE_ANSWERS[:30]:
        stream = linker.streamer()
        for i in range(0, len(answer), 3):
            stream.feed(answer[i : i + 3])
        stream.flush()
        batch, streamed = linker.link(answer).links, stream.result.links
        assert [(lk.product_id, lk.tied, lk.tie_break) for lk in streamed] == [
            (lk.product_id, lk.tied, lk.tie_break) for lk in batch
        ]
