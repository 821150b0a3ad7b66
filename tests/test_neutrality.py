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
