"""Shared fixtures: small in-memory catalogs built the way users build them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import shoplink
from shoplink._catalog import load_rows


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
