"""Code written the way a user writes it; must pass ``mypy --strict``."""

from __future__ import annotations

import shoplink


def link_answer(answer: str, query: str | None = None) -> tuple[str, list[str]]:
    catalog = shoplink.demo_catalog()
    linker = shoplink.Linker(catalog, label="cn", max_links=3)
    result: shoplink.LinkResult = linker.link(answer, query=query)
    ids = [link.product_id for link in result.links]
    for skip in result.skipped:
        reason: shoplink.SkipReason = skip.reason
        print(skip.mention, reason.value)
    return result.text, ids


def load(path: str) -> shoplink.Catalog:
    try:
        return shoplink.load_catalog(path, strict=False)
    except shoplink.CatalogError as exc:
        print(exc.path, exc.line, exc.field, exc.reason)
        raise


def link_cards_in_html(answer: str) -> str:
    linker = shoplink.Linker(shoplink.demo_catalog(), style="card", format="html", label="us")
    css: str = shoplink.default_stylesheet()
    return f"<style>{css}</style>" + linker.link(answer).text
