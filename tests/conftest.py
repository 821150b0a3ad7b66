"""Shared fixtures: small in-memory catalogs built the way users build them.

Hypothesis profiles: ``default`` draws the same examples on every run
(``derandomize``), so the test command, and CI which runs it, passes or
fails on the code alone, not on the luck of the draw. ``fuzz`` draws new
examples each run, or those of ``--hypothesis-seed=N``; that is how rare
cases are looked for (README, "Fuzzing").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings

import shoplink
from shoplink._catalog import load_rows

settings.register_profile("default", derandomize=True, database=None)
settings.register_profile("fuzz", derandomize=False, print_blob=True)
settings.load_profile("default")


def catalog_from_rows(
    rows: list[dict[str, Any]], merchants: tuple[shoplink.Merchant, ...] = ()
) -> shoplink.Catalog:
    """Build a catalog from row dicts through the real row checks."""
    products, terms, _ = load_rows(
        enumerate(rows, start=1), path="<test>", strict=True, merchants={m.id: m for m in merchants}
    )
    return shoplink.Catalog.build(products, merchants=merchants, terms=terms, source="<test>")


def product_row(pid: str, keywords: list[str], **extra: Any) -> dict[str, Any]:
    """A valid catalog row with sensible defaults."""
    row: dict[str, Any] = {
        "id": pid,
        "merchant": extra.pop("merchant", "jd"),
        "title": extra.pop("title", " ".join(keywords)),
        "url": extra.pop("url", f"https://item.jd.com/{pid}.html"),
        "keywords": keywords,
    }
    row.update(extra)
    return row


@pytest.fixture
def make_catalog() -> Callable[..., shoplink.Catalog]:
    return catalog_from_rows


@pytest.fixture(scope="session")
def demo() -> shoplink.Catalog:
    return shoplink.demo_catalog()


def generic_then_named_catalog() -> shoplink.Catalog:
    """``面膜`` names three masks; one of them is sold by two shops (one GTIN)."""

    def offer(pid: str, note: str, **extra: Any) -> dict[str, Any]:
        return product_row(
            pid,
            ["薇诺娜舒敏保湿面膜", "薇诺娜舒敏面膜", "面膜"],
            title=f"薇诺娜舒敏保湿面膜 {note}",
            description=f"敏感肌 舒缓 {note}",
            gtin="6900000000017",
            **extra,
        )

    return catalog_from_rows(
        [
            offer("w1", "补水"),
            offer("w2", "修护", merchant="taobao", url="https://item.taobao.com/item.htm?id=2"),
            product_row("b1", ["美白面膜", "面膜"], title="美白面膜", description="美白 提亮"),
        ]
    )


GENERIC_THEN_NAMED = (
    "敏感肌选面膜，先看能不能补水。\n\n"
    "1. **薇诺娜舒敏保湿面膜**：修护屏障，修护泛红。\n"
    "2. 薇诺娜舒敏面膜一周两次。\n"
)
