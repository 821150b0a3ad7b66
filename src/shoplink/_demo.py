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

from ._catalog import Catalog, jsonl_rows, load_rows
from ._exceptions import CatalogError
from ._model import Merchant

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # pragma: no cover
    from importlib.abc import Traversable

__all__ = ["DemoAnswer", "demo_answers", "demo_catalog"]


@attrs.frozen
class DemoAnswer:
    """A sample question and the assistant answer to link."""

    id: str
    lang: str
    query: str
    answer: str


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


def demo_catalog() -> Catalog:
    """The built-in demo catalog: 70-odd products from three merchants.

    Face masks, running shoes, keyboards, phones and a few deliberately
    ambiguous names (苹果, 小米), in Chinese and English.  Fictional data.
    """
    merchants = demo_merchants()
    declared = {m.id: m for m in merchants}
    folder = _seeds() / "catalog"
    products, terms = [], []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".jsonl"):
            continue
        name = f"seeds/catalog/{entry.name}"
        rows = jsonl_rows(entry.read_bytes(), name)
        got, got_terms, _ = load_rows(rows, path=name, strict=True, merchants=declared)
        products.extend(got)
        terms.extend(got_terms)
    return Catalog.build(products, merchants=merchants, terms=terms, source="demo")


def demo_answers() -> tuple[DemoAnswer, ...]:
    """The sample question/answer pairs the demo links."""
    out = []
    text = (_seeds() / "answers.jsonl").read_text("utf-8")
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(DemoAnswer(row["id"], row["lang"], row["query"], row["answer"]))
    return tuple(out)
