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


class MyRenderer:
    """A user's own renderer, checked against the Protocol."""

    def wrap(self, *, url: str, label: str | None, lang: str, title: str) -> shoplink.LinkMarkup:
        return shoplink.LinkMarkup("[", f"]({url})")


renderer: shoplink.Renderer = MyRenderer()


def safe_linker(extra_terms: list[str]) -> shoplink.Linker:
    gates = [g.extend(extra_terms) if g.name == "medical" else g for g in shoplink.default_gates()]
    gates.append(shoplink.Gate("pets", terms=("宠物药",), scope="query"))
    return shoplink.Linker(shoplink.demo_catalog(), gates=gates, min_gap=shoplink.DEFAULT_MIN_GAP)


def review(path: str) -> str:
    report: shoplink.AuditReport = shoplink.audit(safe_linker([]), shoplink.load_qa(path))
    return report.render()
