"""Hypothesis strategies for the neutrality properties: money and house status vary."""

from __future__ import annotations

from decimal import Decimal

import attrs
from hypothesis import strategies as st

import shoplink

DEMO = shoplink.demo_catalog()
KEYWORDS = sorted({k for p in DEMO.products for k in p.keywords})
FILLER = ["，", "。", " ", "\n\n", "- ", "敏感肌", "美白", "泥地", "游戏", "水果", "手机", "粥", "**", "mud", "road", "`", "| "]

money = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.99"), places=2)
prices = st.none() | st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2)
currencies = st.sampled_from([None, "CNY", "USD", "EUR", "JPY"])

answers = st.lists(st.sampled_from(KEYWORDS) | st.sampled_from(FILLER), max_size=25).map("".join)
queries = st.none() | st.lists(st.sampled_from(KEYWORDS) | st.sampled_from(FILLER), max_size=5).map("".join)


@st.composite
def money_variants(draw: st.DrawFn) -> shoplink.Catalog:
    """The demo catalog with every money field and the house flag redrawn."""
    products = []
    terms = []
    for p in DEMO.products:
        products.append(attrs.evolve(p, price=draw(prices), currency=draw(currencies)))
        terms.append(shoplink.CommercialTerms(p.id, draw(st.none() | money)))
    house = draw(st.sets(st.sampled_from(sorted(DEMO.merchants))))
    merchants = [attrs.evolve(m, house=m.id in house) for m in DEMO.merchants.values()]
    return shoplink.Catalog.build(products, merchants=merchants, terms=terms, source="variant")
