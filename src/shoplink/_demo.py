"""The built-in demo data: seed catalogs and sample answers shipped in the wheel.

The files live in the repository's top-level ``seeds/`` folder and are
packaged as ``shoplink/_seeds``.  In a source checkout that was installed in
editable mode the packaged copy does not exist, so the repository folder is
used instead.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

import attrs

from ._adapters import HouseShop, JDUnionExport, TaobaoUnionExport
from ._catalog import Catalog
from ._exceptions import CatalogError
from ._merchants import MerchantAdapter
from ._model import Merchant

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # pragma: no cover
    from importlib.abc import Traversable

__all__ = ["DemoAnswer", "demo_answers", "demo_catalog"]


@attrs.frozen
class DemoAnswer:
    """A sample question and the assistant answer to link.

    Attributes:
        id: ``qa-01``, ``qa-02``, ...
        lang: ``zh`` or ``en``.
        query: the user's question.
        answer: the assistant's answer, in Markdown.
        answer_html: the same answer as a front end renders it to HTML
            (CommonMark with tables, strikethrough and linkified URLs), for
            ``format="html"``.
    """

    id: str
    lang: str
    query: str
    answer: str
    answer_html: str

    def text(self, format: str) -> str:
        """The answer in ``format`` (``"markdown"`` or ``"html"``)."""
        return self.answer_html if format == "html" else self.answer


def _seeds() -> Traversable:
    packaged = resources.files("shoplink") / "_seeds"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "seeds"
    if checkout.is_dir():
        return checkout
    raise CatalogError("the demo data is missing from this installation", path="shoplink/_seeds")


def demo_merchants() -> tuple[Merchant, ...]:
    """The demo merchants: the in-house 抖音商城 and third-party 淘宝 and 京东."""
    raw = json.loads((_seeds() / "merchants.json").read_text("utf-8"))
    return tuple(
        Merchant(id=m["id"], name=m["name"], house=bool(m["house"]), domains=tuple(m["domains"]))
        for m in raw
    )


def demo_adapters() -> tuple[MerchantAdapter, ...]:
    """The demo's merchant adapters, one file per merchant in its own format.

    抖音商城 is the house shop in shoplink's JSON Lines; 淘宝 and 京东 are
    淘宝联盟 and 京东联盟 CSV exports, each with a sidecar of the fields the
    export cannot carry (keywords, brand, barcode, stock, ...).
    """
    merchants = {m.id: m for m in demo_merchants()}
    folder = _seeds() / "catalog"

    def path(name: str) -> Path:
        # Installed wheels and source checkouts both give real files here.
        return Path(str(folder / name))

    return (
        # No tracking parameters: demo links stay the catalog's own URLs.
        HouseShop(path("douyin.jsonl"), merchants["douyin"], tracking=None),
        TaobaoUnionExport(
            path("taobao.csv"), merchants["taobao"], sidecar=path("taobao.sidecar.jsonl")
        ),
        JDUnionExport(path("jd.csv"), merchants["jd"], sidecar=path("jd.sidecar.jsonl")),
    )


def demo_catalog() -> Catalog:
    """The built-in demo catalog: 70-odd products from three merchants.

    Face masks, running shoes, keyboards, phones and a few deliberately
    ambiguous names (苹果, 小米), in Chinese and English.  Fictional data,
    read through the merchant adapters (``demo_adapters``).
    """
    return Catalog.from_merchants(demo_adapters(), strict=True, source="demo")


def demo_answers() -> tuple[DemoAnswer, ...]:
    """The sample question/answer pairs the demo links."""
    out = []
    text = (_seeds() / "answers.jsonl").read_text("utf-8")
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(
                DemoAnswer(row["id"], row["lang"], row["query"], row["answer"], row["answer_html"])
            )
    return tuple(out)
