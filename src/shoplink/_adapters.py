"""Built-in merchant adapters, each reading what its platform really exports.

Every adapter here only maps its format to shoplink's row fields; checking
is done by the shared row checks.  A file-level problem (unreadable file,
missing column, broken XML or JSON) raises ``CatalogError`` naming the
source; a row-level problem becomes a rejected row named by line (or item
number) and field.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import xml.parsers.expat
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import attrs

from ._catalog import RejectedRow, csv_rows, guess_encoding, jsonl_rows, refuse_spreadsheet
from ._exceptions import CatalogError
from ._links import UTM, LinkBuilder, LinkContext
from ._merchants import SourceRow
from ._model import Merchant, Product

__all__ = [
    "GoogleMerchantFeed",
    "HouseShop",
    "JDUnionExport",
    "OpenAIProductFeed",
    "ShoplinkFile",
    "TaobaoUnionExport",
]

PathLike = str | os.PathLike[str]


def _read(path: PathLike, name: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read file: {exc.strerror or exc}", path=name) from None


def _link(tracking: LinkBuilder | None, product: Product, context: LinkContext) -> str:
    return tracking(product, context) if tracking is not None else product.url


# --------------------------------------------------------------------------- shoplink's own


class ShoplinkFile:
    """shoplink's own JSON Lines or CSV catalog file, for one merchant.

    Args:
        path: the file (``.jsonl``/``.ndjson``/``.json`` or ``.csv``).
        merchant: the shop, with its link domains.
        tracking: a ``LinkBuilder`` for the final URL (default: none).
    """

    def __init__(
        self, path: PathLike, merchant: Merchant, *, tracking: LinkBuilder | None = None
    ) -> None:
        self.path = os.fspath(path)
        self.merchant = merchant
        self.name = f"{merchant.id}:{self.path}"
        self.tracking = tracking

    def rows(self) -> Iterator[SourceRow]:
        """The file's rows (JSON Lines or CSV by the file name)."""
        data = _read(self.path, self.name)
        refuse_spreadsheet(data, self.name)
        read = csv_rows if self.path.lower().endswith(".csv") else jsonl_rows
        for number, row in read(data, self.name):
            yield row if isinstance(row, RejectedRow) else (number, row)

    def link_url(self, product: Product, context: LinkContext) -> str:
        """The product URL, with ``tracking`` applied if given."""
        return _link(self.tracking, product, context)


class HouseShop:
    """The assistant operator's own shop (Douyin Mall style), in shoplink's format.

    First-party product links: the merchant is always flagged ``house`` so
    every link to it is disclosed as the operator's own shop.  Being the
    house shop never affects which product is chosen.

    Args:
        path: a shoplink JSON Lines or CSV file.
        merchant: the shop; ``house`` is set whatever it says.
        tracking: a ``LinkBuilder`` (default: ``UTM`` parameters).
    """

    def __init__(
        self, path: PathLike, merchant: Merchant, *, tracking: LinkBuilder | None = UTM
    ) -> None:
        self._file = ShoplinkFile(path, attrs.evolve(merchant, house=True), tracking=tracking)
        self.merchant = self._file.merchant
        self.name = self._file.name

    def rows(self) -> Iterator[SourceRow]:
        """The file's rows."""
        return self._file.rows()

    def link_url(self, product: Product, context: LinkContext) -> str:
        """The first-party product URL with the tracking parameters."""
        return self._file.link_url(product, context)


# --------------------------------------------------------------------------- tables


def _table(
    data: bytes, name: str, *, delimiter: str, encoding: str
) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of a CSV/TSV file; the header is line 1."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = ""
        if codecs.lookup(encoding).name == "utf-8":
            found = guess_encoding(data)
            if found is not None:
                # CSV saved by Excel in China is GB18030 (or GBK, its subset).
                hint = f" (it decodes as {found}: pass encoding={found!r})"
        raise CatalogError(f"not valid {encoding}{hint}", path=name, line=line) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    line = 1
    try:
        for cells in reader:
            yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise CatalogError(f"malformed table: {exc}", path=name, line=line) from None


def _xlsx(path: str, name: str) -> Iterator[tuple[int, list[str]]]:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - depends on the extra
        raise CatalogError(
            "reading .xlsx needs openpyxl: pip install 'shoplink[xlsx]'", path=name
        ) from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise CatalogError(f"unreadable XLSX: {type(exc).__name__}: {exc}", path=name) from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, ["" if v is None else _cell(v) for v in values]
    finally:
        book.close()


def _cell(value: object) -> str:
    # Excel stores 商品id and prices as numbers: 7e11 must not become "7e+11".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)


@attrs.frozen
class _Layout:
    """A platform's export columns: shoplink field -> accepted header names."""

    columns: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]


def _header_index(header: Sequence[str], layout: _Layout, name: str) -> dict[str, int]:
    cleaned = [h.strip().lstrip("\ufeff") for h in header]
    found: dict[str, int] = {}
    for field, names in layout.columns.items():
        for n in names:
            if n in cleaned:
                found[field] = cleaned.index(n)
                break
    missing = [layout.columns[f][0] for f in layout.required if f not in found]
    if missing:
        raise CatalogError(
            f"header lacks required column(s) {', '.join(missing)}", path=name, line=1
        )
    return found


def _load_sidecar(path: PathLike | None, name: str) -> dict[str, dict[str, Any]]:
    if path is None:
        return {}
    side_name = os.fspath(path)
    out: dict[str, dict[str, Any]] = {}
    for number, row in jsonl_rows(_read(path, side_name), side_name):
        if isinstance(row, RejectedRow):
            raise row.error()
        key = row.get("item_id")
        if not isinstance(key, str) or not key:
            raise CatalogError("item_id is required (a string)", path=side_name, line=number)
        out[key] = {k: v for k, v in row.items() if k != "item_id"}
    return out


def _percent(value: str) -> str:
    text = value.strip().rstrip("%").strip()
    if re.fullmatch(r"\d{1,3}(?:\.\d{1,4})?", text):
        return format(Decimal(text) / 100, "f")
    return value  # left as is: the shared check names it


class _AffiliateExport:
    """Shared reading of a Chinese affiliate-program export (CSV or XLSX)."""

    layout: _Layout

    def __init__(
        self,
        path: PathLike,
        merchant: Merchant,
        *,
        sidecar: PathLike | None = None,
        tracking: LinkBuilder | None = None,
        encoding: str = "utf-8",
    ) -> None:
        self.path = os.fspath(path)
        self.merchant = merchant
        self.name = f"{merchant.id}:{self.path}"
        self.sidecar = sidecar
        self.tracking = tracking
        self.encoding = encoding
        self.columns = {
            f: "/".join(names) for f, names in self.layout.columns.items() if f != "item_id"
        }
        self.columns["id"] = self.layout.columns["item_id"][0]

    def _lines(self) -> Iterator[tuple[int, list[str]]]:
        if self.path.lower().endswith((".xlsx", ".xlsm")):
            return _xlsx(self.path, self.name)
        return _table(_read(self.path, self.name), self.name, delimiter=",", encoding=self.encoding)

    def rows(self) -> Iterator[SourceRow]:
        """The export's rows, mapped to shoplink fields and merged with the sidecar."""
        side = _load_sidecar(self.sidecar, self.name)
        lines = self._lines()
        try:
            _, header = next(lines)
        except StopIteration:
            return
        index = _header_index(header, self.layout, self.name)
        # Errors name the columns this file really has.
        named = {f: header[i].strip().lstrip("\ufeff") for f, i in index.items()}
        self.columns = {f: n for f, n in named.items() if f not in ("item_id", "affiliate_url")}
        self.columns["id"] = named["item_id"]
        self.columns["url"] = " or ".join(
            named[f] for f in ("affiliate_url", "url") if f in named
        )
        for number, cells in lines:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) < len(header):
                cells = cells + [""] * (len(header) - len(cells))
            raw = {f: cells[i].strip() for f, i in index.items()}
            yield number, self._merge(raw, side.get(raw.get("item_id", ""), {}))

    def _merge(self, raw: dict[str, str], extra: Mapping[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {"currency": "CNY"}  # the export's prices are in 元
        row.update(extra)
        affiliate = raw.pop("affiliate_url", "")
        detail = raw.pop("url", "")
        item_id = raw.pop("item_id", "")
        row.setdefault("id", f"{self.merchant.id}-{item_id}" if item_id else "")
        if "commission_rate" in raw:
            raw["commission_rate"] = _percent(raw["commission_rate"])
        row.update({k: v for k, v in raw.items() if v})
        row["url"] = affiliate or detail
        if "keywords" not in row:
            # The export has no names an answer would use: fall back on the
            # title (see docs/merchants.md; a sidecar is the real answer).
            row["keywords"] = [row["title"]] if row.get("title") else []
        return row

    def link_url(self, product: Product, context: LinkContext) -> str:
        """The affiliate (or detail) URL, with ``tracking`` applied if given."""
        return _link(self.tracking, product, context)


class TaobaoUnionExport(_AffiliateExport):
    """淘宝联盟 (Taobao affiliate) product export: CSV, or XLSX with the ``xlsx`` extra.

    Columns (by header name): 商品id, 商品名称, 商品主图, 商品详情页链接地址,
    淘宝客链接 (used when present), 商品价格(单位：元), 收入比率(%),
    店铺名称, 商品一级类目.  Extra columns are ignored.

    Args:
        path: the export file.
        merchant: the shop (default domains: taobao.com, tmall.com).
        sidecar: optional JSON Lines file keyed by ``item_id`` (the 商品id)
            with the fields the export cannot carry (keywords, brand, gtin,
            availability, ...).
        tracking: a ``LinkBuilder`` for sub-ids (default: none, the
            淘宝客链接 already carries the affiliate id).
        encoding: of a CSV file (``"gb18030"`` for files saved by Excel in China).
    """

    layout = _Layout(
        columns={
            "item_id": ("商品id", "商品ID"),
            "title": ("商品名称",),
            "image_url": ("商品主图",),
            "url": ("商品详情页链接地址", "商品链接"),
            "affiliate_url": ("淘宝客链接",),
            "price": ("商品价格(单位：元)", "商品价格（单位：元）"),
            "commission_rate": ("收入比率(%)", "收入比率（%）"),
            "category": ("商品一级类目",),
        },
        required=("item_id", "title", "url"),
    )


class JDUnionExport(_AffiliateExport):
    """京东联盟 (JD affiliate) product export: CSV, or XLSX with the ``xlsx`` extra.

    Columns (by header name): 商品ID (the SKU id), 商品名称, 商品主图,
    商品链接, 推广链接 (used when present), 京东价(元), 佣金比例(%),
    店铺名称, 一级类目.  Extra columns are ignored.

    Args: as ``TaobaoUnionExport``.
    """

    layout = _Layout(
        columns={
            "item_id": ("商品ID", "SKU ID", "skuId"),
            "title": ("商品名称",),
            "image_url": ("商品主图", "图片链接"),
            "url": ("商品链接",),
            "affiliate_url": ("推广链接",),
            "price": ("京东价(元)", "京东价（元）", "京东价"),
            "commission_rate": ("佣金比例(%)", "佣金比例（%）"),
            "category": ("一级类目",),
        },
        required=("item_id", "title", "url"),
    )


# --------------------------------------------------------------------------- OpenAI / ACP

# ISO 4217 minor-unit exponents that are not 2.
_EXPONENT = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}

_ACP_AVAILABILITY = {
    "in_stock": "in_stock",
    "out_of_stock": "out_of_stock",
    "preorder": "preorder",
    "pre_order": "preorder",
    "backorder": "backorder",
    "back_order": "backorder",
}


class OpenAIProductFeed:
    """OpenAI / Agentic Commerce Protocol product feed (JSON, 2026-04-17 schema).

    The file is ``{"products": [...]}`` (or a bare list); each product has
    ``id``, ``title``, ``description``, ``url``, ``brand`` and ``variants``;
    each variant becomes one shoplink product with its own ``id``, ``title``,
    ``url``, ``price {amount, currency}`` in minor units, ``availability``,
    ``media`` and ``barcodes``.  A product or variant with
    ``is_eligible_search: false`` is left out: the merchant asked for it not
    to be surfaced.  Rows are numbered by product (1-based) in the file.

    Args:
        path: the feed file.
        merchant: the shop, with its link domains.
        tracking: a ``LinkBuilder`` (default: ``UTM`` parameters).
    """

    def __init__(
        self, path: PathLike, merchant: Merchant, *, tracking: LinkBuilder | None = UTM
    ) -> None:
        self.path = os.fspath(path)
        self.merchant = merchant
        self.name = f"{merchant.id}:{self.path}"
        self.tracking = tracking
        self.excluded: list[str] = []

    def rows(self) -> Iterator[SourceRow]:
        """One row per search-eligible variant."""
        data = _read(self.path, self.name)
        try:
            doc = json.loads(data.decode("utf-8-sig"), parse_float=Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            where = (
                f" (line {exc.lineno}, column {exc.colno})"
                if isinstance(exc, json.JSONDecodeError)
                else ""
            )
            raise CatalogError(f"invalid JSON feed: {exc}{where}", path=self.name) from None
        products = doc.get("products") if isinstance(doc, dict) else doc
        if not isinstance(products, list):
            raise CatalogError("expected a JSON object with a products array", path=self.name)
        self.excluded = []
        for number, item in enumerate(products, start=1):
            if not isinstance(item, dict):
                yield RejectedRow(self.name, number, "", "product is not a JSON object")
                continue
            if item.get("is_eligible_search") is False:
                self.excluded.append(str(item.get("id", number)))
                continue
            variants = item.get("variants")
            if not isinstance(variants, list) or not variants:
                yield RejectedRow(self.name, number, "variants", "is required (at least one)")
                continue
            for vi, variant in enumerate(variants):
                if isinstance(variant, dict) and variant.get("is_eligible_search") is False:
                    self.excluded.append(str(variant.get("id", f"{number}/{vi}")))
                    continue
                yield self._variant(number, vi, item, variant)

    def _variant(self, number: int, vi: int, item: Mapping[str, Any], variant: object) -> SourceRow:
        where = f"variants[{vi}]"
        if not isinstance(variant, dict):
            return RejectedRow(self.name, number, where, "is not a JSON object")
        row: dict[str, Any] = {
            "id": variant.get("id"),
            "title": variant.get("title") or item.get("title"),
            "url": variant.get("url") or item.get("url"),
            "brand": item.get("brand") or "",
            "description": _text(variant.get("description") or item.get("description")),
            "model": variant.get("mpn") or item.get("mpn") or "",
        }
        keywords = [t for t in (item.get("title"), variant.get("title")) if isinstance(t, str)]
        row["keywords"] = list(dict.fromkeys(keywords))
        price = variant.get("price")
        if price is not None:
            if not isinstance(price, dict):
                return RejectedRow(
                    self.name, number, f"{where}.price", "expected {amount, currency}"
                )
            amount, currency = price.get("amount"), price.get("currency")
            if isinstance(amount, bool) or not isinstance(amount, int):
                return RejectedRow(
                    self.name,
                    number,
                    f"{where}.price.amount",
                    f"expected an integer in minor units (cents), got {amount!r}",
                )
            if not isinstance(currency, str):
                return RejectedRow(self.name, number, f"{where}.price.currency", "is required")
            exponent = _EXPONENT.get(currency.upper(), 2)
            row["price"] = (
                format(Decimal(amount).scaleb(-exponent), "f") if amount >= 0 else (str(amount))
            )
            row["currency"] = currency
        availability = variant.get("availability")
        if isinstance(availability, dict):
            availability = availability.get("status")
        if isinstance(availability, str):
            row["availability"] = _ACP_AVAILABILITY.get(availability.lower(), availability)
        media = variant.get("media") or item.get("media") or []
        if isinstance(media, list):
            for m in media:
                if isinstance(m, dict) and m.get("type", "image") == "image" and m.get("url"):
                    row["image_url"] = m["url"]
                    break
        barcodes = variant.get("barcodes") or []
        if isinstance(barcodes, list):
            for b in barcodes:
                if isinstance(b, dict) and str(b.get("type", "")).upper() in (
                    "GTIN",
                    "EAN",
                    "UPC",
                    "JAN",
                    "ISBN",
                ):
                    row["gtin"] = b.get("value")
                    break
        return number, row

    def link_url(self, product: Product, context: LinkContext) -> str:
        """The variant URL with the tracking parameters."""
        return _link(self.tracking, product, context)


def _text(value: object) -> object:
    if isinstance(value, dict):
        return value.get("plain") or value.get("text") or ""
    return value or ""


# --------------------------------------------------------------------------- Google

_G_NS = "http://base.google.com/ns/1.0"
_G_FIELDS = {
    "id": "id",
    "title": "title",
    "description": "description",
    "link": "url",
    "image_link": "image_link",
    "price": "price",
    "availability": "availability",
    "brand": "brand",
    "gtin": "gtin",
    "mpn": "model",
    "product_type": "category",
}
_PRICE_RE = re.compile(r"\s*(\S+)\s+([A-Za-z]{3})\s*")


class GoogleMerchantFeed:
    """Google Merchant Center product feed: TSV, or RSS 2.0 XML with the ``g:`` namespace.

    Attributes used: id, title, description, link, image_link, price
    (``"15.00 USD"``), availability (``in stock``, ``out of stock``,
    ``preorder``, ``backorder``), brand, gtin, mpn, product_type.
    Keywords are the title (see docs/merchants.md).  XML with a DOCTYPE is
    refused (no entity expansion from a feed).

    Args:
        path: ``.tsv``/``.txt`` (tab-separated, header row) or ``.xml``.
        merchant: the shop, with its link domains.
        tracking: a ``LinkBuilder`` (default: ``UTM`` parameters).
    """

    columns: ClassVar[Mapping[str, str]] = {
        "url": "link",
        "image_url": "image_link",
        "model": "mpn",
        "category": "product_type",
    }

    def __init__(
        self, path: PathLike, merchant: Merchant, *, tracking: LinkBuilder | None = UTM
    ) -> None:
        self.path = os.fspath(path)
        self.merchant = merchant
        self.name = f"{merchant.id}:{self.path}"
        self.tracking = tracking

    def rows(self) -> Iterator[SourceRow]:
        """One row per TSV line or RSS ``<item>``."""
        data = _read(self.path, self.name)
        head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        items = self._xml(data) if head == b"<" else self._tsv(data)
        for number, attrs_ in items:
            yield number, self._map(attrs_)

    def _tsv(self, data: bytes) -> Iterator[tuple[int, dict[str, str]]]:
        lines = _table(data, self.name, delimiter="\t", encoding="utf-8")
        try:
            _, header = next(lines)
        except StopIteration:
            return
        header = [h.strip().removeprefix("g:") for h in header]
        missing = [c for c in ("id", "title", "link") if c not in header]
        if missing:
            raise CatalogError(
                f"header lacks required column(s) {', '.join(missing)}", path=self.name, line=1
            )
        for number, cells in lines:
            if any(c.strip() for c in cells):
                yield number, dict(zip(header, (c.strip() for c in cells), strict=False))

    def _xml(self, data: bytes) -> Iterator[tuple[int, dict[str, str]]]:
        items: list[tuple[int, dict[str, str]]] = []
        parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
        stack: list[str] = []
        current: dict[str, str] | None = None
        text: list[str] = []
        start_line = 0

        def doctype(*_: object) -> None:
            raise CatalogError(
                "XML feed must not have a DOCTYPE", path=self.name, line=parser.CurrentLineNumber
            )

        def start(tag: str, _attrs: dict[str, str]) -> None:
            nonlocal current, start_line
            stack.append(tag)
            text.clear()
            if tag == "item":
                current, start_line = {}, parser.CurrentLineNumber

        def end(tag: str) -> None:
            nonlocal current
            stack.pop()
            if tag == "item" and current is not None:
                items.append((start_line, current))
                current = None
            elif current is not None and len(stack) >= 1 and stack[-1] == "item":
                ns, _, local = tag.rpartition(" ")
                if ns in ("", _G_NS) and (ns == _G_NS or local not in current):
                    current[local] = "".join(text).strip()
            text.clear()

        parser.StartDoctypeDeclHandler = doctype
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = text.append
        try:
            parser.Parse(data, True)
        except xml.parsers.expat.ExpatError as exc:
            raise CatalogError(
                f"broken XML: {xml.parsers.expat.errors.messages[exc.code]}"
                f" (column {exc.offset + 1})",
                path=self.name,
                line=exc.lineno,
            ) from None
        return iter(items)

    def _map(self, attrs_: Mapping[str, str]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for key, field in _G_FIELDS.items():
            value = attrs_.get(key, "")
            if value:
                row[field] = value
        if "image_link" in row:
            row["image_url"] = row.pop("image_link")
        price = row.get("price")
        if isinstance(price, str):
            match = _PRICE_RE.fullmatch(price)
            if match:
                row["price"], row["currency"] = match.group(1), match.group(2).upper()
        if row.get("title"):
            row["keywords"] = [row["title"]]
        return row

    def link_url(self, product: Product, context: LinkContext) -> str:
        """The product link with the tracking parameters."""
        return _link(self.tracking, product, context)
