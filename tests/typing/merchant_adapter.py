"""A merchant adapter written the way a user writes one; must pass ``mypy --strict``."""

from __future__ import annotations

import csv
from collections.abc import Iterator

import shoplink


class DewuExport:
    """得物 product export: spuId, name, link, names (/-separated)."""

    name = "dewu"
    merchant = shoplink.Merchant("dewu", "得物", domains=("dewu.com",))

    def __init__(self, path: str) -> None:
        self.path = path

    def rows(self) -> Iterator[shoplink.SourceRow]:
        with open(self.path, encoding="utf-8", newline="") as f:
            for line, rec in enumerate(csv.DictReader(f), start=2):
                yield (
                    line,
                    {
                        "id": f"dw-{rec['spuId']}",
                        "title": rec["name"],
                        "url": rec["link"],
                        "keywords": rec["names"].split("/"),
                    },
                )

    def link_url(self, product: shoplink.Product, context: shoplink.LinkContext) -> str:
        return shoplink.add_query(product.url, {"sub": context.answer_id or ""})


adapter: shoplink.MerchantAdapter = DewuExport("dewu.csv")
tracked: shoplink.LinkBuilder = shoplink.UTM


def build(taobao_csv: str) -> shoplink.Catalog:
    taobao = shoplink.TaobaoUnionExport(
        taobao_csv, shoplink.Merchant("taobao", domains=("taobao.com",))
    )
    catalog = shoplink.Catalog.from_merchants([adapter, taobao])
    for failure in catalog.failures:
        print(failure.adapter, failure.error)
    return catalog
