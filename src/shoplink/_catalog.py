"""Reading catalogs: shoplink's own JSON Lines and CSV formats, and merchant adapters.

A catalog row becomes a ``Product`` (what shoppers see) plus, when the row has
money fields only reporting may see, a ``CommercialTerms``.  Every field is
checked here, once, so that later stages can trust what they get: a bad row
is either an error naming file, line and field (strict loading) or an entry
in ``Catalog.rejected`` (lenient loading).  A good row is never dropped.
Rows from merchant adapters (the interface is in ``_merchants``, which this
module imports, never the other way) go through the same checks
(``Catalog.from_merchants``).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from ._exceptions import CatalogError, ConfigError, LinkError
from ._links import LinkBuilder, LinkContext, checked_link
from ._merchants import AdapterFailure, MerchantAdapter
from ._model import Availability, CommercialTerms, Merchant, Product, RejectedRow
from ._urls import host_problem, url_host

__all__ = ["Catalog", "RejectedRow", "load_catalog", "parse_product"]

#: Fields a row must have; everything else is optional.
REQUIRED_FIELDS = ("id", "merchant", "title", "url", "keywords")
#: Fields that hold lists: JSON arrays, or ``|``-separated in CSV.
LIST_FIELDS = ("keywords", "context_terms", "negative_terms")
KNOWN_FIELDS = frozenset(
    (
        *REQUIRED_FIELDS,
        "image_url",
        "price",
        "currency",
        "availability",
        "brand",
        "category",
        "description",
        "commission_rate",
        "gtin",
        "model",
        "price_checked_at",
        "context_terms",
        "negative_terms",
    )
)

_MAX_ID = 200
_MAX_TEXT = 5_000
_MAX_URL = 2_048
_MAX_KEYWORD = 200
_DECIMAL_RE = re.compile(r"\d{1,15}(?:\.\d{1,6})?")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_GTIN_RE = re.compile(r"\d{8}|\d{12,14}")


class _RowError(Exception):
    """Internal: one field of one row is bad.  Turned into a RejectedRow."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@attrs.frozen(eq=False)
class Catalog:
    """An immutable set of products, with the merchants they come from.

    Build one with ``load_catalog``, ``demo_catalog`` or ``Catalog.build``.

    Attributes:
        products: every loaded product, in source order.
        merchants: merchant id to ``Merchant``; merchants that rows name but
            nobody declared get a plain ``Merchant(id)``.
        terms: product id to ``CommercialTerms``, for reporting only.
        rejected: rows that lenient loading skipped.
        source: where the catalog came from (a path, ``"demo"``, ...).
        failures: merchant adapters that failed as a whole while loading
            (``Catalog.from_merchants``), with their error.
        link_builders: merchant id to the ``LinkBuilder`` that makes its
            final link URLs; merchants without one link to ``Product.url``.
    """

    products: tuple[Product, ...]
    merchants: Mapping[str, Merchant]
    terms: Mapping[str, CommercialTerms] = attrs.field(factory=dict)
    rejected: tuple[RejectedRow, ...] = ()
    source: str = "<memory>"
    failures: tuple[AdapterFailure, ...] = ()
    link_builders: Mapping[str, LinkBuilder] = attrs.field(factory=dict, repr=False)
    _by_id: dict[str, Product] = attrs.field(init=False, repr=False)
    _offers: dict[str, tuple[str, ...]] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        by_id: dict[str, Product] = {}
        for product in self.products:
            if product.id in by_id:
                raise CatalogError("duplicate id", path=self.source, field="id")
            by_id[product.id] = product
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_offers", _group_offers(self.products))

    @classmethod
    def from_merchants(
        cls,
        adapters: Iterable[MerchantAdapter],
        *,
        strict: bool = False,
        source: str = "merchants",
    ) -> Catalog:
        """Build one catalog from several merchant adapters.

        Each adapter's rows go through the same checks as ``load_catalog``.
        Lenient (default): a bad row is listed in ``rejected`` (its ``path``
        is the adapter's name); an adapter that raises while loading is
        listed in ``failures`` and contributes nothing, and the others still
        load.  Strict: the first bad row or failing adapter raises.

        Raises:
            ConfigError: an adapter has no merchant domains, or two adapters
                serve the same merchant id.
            CatalogError: (strict) a bad row or a failing adapter.
        """
        return _from_merchants(cls, adapters, strict=strict, source=source)

    @classmethod
    def build(
        cls,
        products: Iterable[Product],
        *,
        merchants: Iterable[Merchant] = (),
        terms: Iterable[CommercialTerms] = (),
        rejected: Iterable[RejectedRow] = (),
        source: str = "<memory>",
        failures: Iterable[AdapterFailure] = (),
        link_builders: Mapping[str, LinkBuilder] | None = None,
    ) -> Catalog:
        """Assemble a catalog from ready-made products.

        Raises:
            CatalogError: two products share an id, or a product's URL is
                outside its merchant's declared domains.
        """
        known = {m.id: m for m in merchants}
        declared = dict(known)
        products = tuple(products)
        for product in products:
            if declared and product.merchant not in declared:
                raise CatalogError(
                    f"product {product.id!r}: {_undeclared(product.merchant, declared)}",
                    path=source,
                    field="merchant",
                )
            merchant = known.setdefault(product.merchant, Merchant(product.merchant))
            for field in ("url", "image_url"):
                value = getattr(product, field)
                if value is not None:
                    host = url_host(value)
                    # Other schemes are refused when rendering, as before.
                    web = value.lower().startswith(("http:", "https:"))
                    problem = host_problem(value) if web else None
                    if problem is not None:
                        raise CatalogError(problem, path=source, field=field)
                    if not merchant.allows_host(host):
                        raise CatalogError(
                            f"host {host!r} is not among the domains of merchant {merchant.id!r} "
                            f"{list(merchant.domains)}",
                            path=source,
                            field=field,
                        )
        return cls(
            products=products,
            merchants=known,
            terms={t.product_id: t for t in terms},
            rejected=tuple(rejected),
            source=source,
            failures=tuple(failures),
            link_builders=dict(link_builders or {}),
        )

    def __len__(self) -> int:
        return len(self.products)

    def __iter__(self) -> Iterator[Product]:
        return iter(self.products)

    def __contains__(self, product_id: object) -> bool:
        return product_id in self._by_id

    def get(self, product_id: str) -> Product | None:
        """The product with this id, or None."""
        return self._by_id.get(product_id)

    def __getitem__(self, product_id: str) -> Product:
        return self._by_id[product_id]

    def merchant(self, merchant_id: str) -> Merchant:
        """The merchant with this id (a bare ``Merchant(id)`` if undeclared)."""
        return self.merchants.get(merchant_id) or Merchant(merchant_id)

    def offers(self, product_id: str) -> tuple[Product, ...]:
        """Every product that is the same item as ``product_id``, itself included.

        Products are the same item when they share a GTIN, or the same brand
        and model (compared case-insensitively).  The result is sorted by
        product id: no merchant, house or not, comes first for what it is.

        Raises:
            KeyError: no product has this id.
        """
        if product_id not in self._by_id:
            raise KeyError(product_id)
        return tuple(self._by_id[pid] for pid in self._offers.get(product_id, (product_id,)))

    def link_url(self, product: Product, context: LinkContext | None = None) -> str:
        """The final URL of a link to ``product``, built by its merchant's builder.

        Raises:
            LinkError: the builder raised, or built something other than an
                http(s) URL on the merchant's domains.
        """
        builder = self.link_builders.get(product.merchant)
        if builder is None:
            return product.url
        name = f"the URL builder of merchant {product.merchant!r}"
        try:
            url = builder(product, context or LinkContext())
        except Exception as exc:
            raise LinkError(
                f"{name} failed for product {product.id!r}: {type(exc).__name__}: {exc}"
            ) from exc
        return checked_link(product, url, self.merchant(product.merchant).domains, name)


def _group_offers(products: Sequence[Product]) -> dict[str, tuple[str, ...]]:
    """Product id to the sorted ids of every product that is the same item."""
    parent: dict[str, str] = {}

    def find(pid: str) -> str:
        while parent.get(pid, pid) != pid:
            pid = parent[pid]
        return pid

    first: dict[tuple[str, ...], str] = {}
    for product in products:
        keys: list[tuple[str, ...]] = []
        if product.gtin:
            keys.append(("gtin", product.gtin.lstrip("0")))
        if product.brand.strip() and product.model.strip():
            brand, model = product.brand.strip().casefold(), product.model.strip().casefold()
            keys.append(("model", brand, model))
        for key in keys:
            other = first.setdefault(key, product.id)
            a, b = find(product.id), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = {}
    for product in products:
        groups.setdefault(find(product.id), []).append(product.id)
    return {pid: tuple(sorted(g)) for g in groups.values() if len(g) > 1 for pid in g}


# --------------------------------------------------------------------------- fields


def _check_text(field: str, value: object, *, required: bool, limit: int = _MAX_TEXT) -> str:
    if value is None or value == "":
        if required:
            raise _RowError(field, "is required")
        return ""
    if not isinstance(value, str):
        raise _RowError(field, f"expected a string, got {_json_type(value)}")
    if len(value) > limit:
        raise _RowError(field, f"longer than {limit} characters")
    bad = _first_control(value)
    if bad is not None:
        raise _RowError(field, f"contains control character U+{ord(bad):04X}")
    if required and not value.strip():
        raise _RowError(field, "is blank")
    return value


def _first_control(value: str) -> str | None:
    for ch in value:
        # Cc and Cs (lone surrogates) never belong in product data; tabs and
        # newlines included: a title or keyword spanning lines breaks Markdown.
        if unicodedata.category(ch) in ("Cc", "Cs"):
            return ch
    return None


def check_url(field: str, value: object, *, required: bool) -> str | None:
    """Validate a product or image URL: absolute http(s) with a host.

    Rejects other schemes (``javascript:``, ``data:``), scheme-relative
    ``//host`` URLs, embedded credentials, whitespace and control characters.
    """
    if value is None or value == "":
        if required:
            raise _RowError(field, "is required")
        return None
    if not isinstance(value, str):
        raise _RowError(field, f"expected a string, got {_json_type(value)}")
    if len(value) > _MAX_URL:
        raise _RowError(field, f"URL longer than {_MAX_URL} characters")
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise _RowError(field, "URL contains whitespace or control characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise _RowError(field, f"malformed URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = parts.scheme + ":" if parts.scheme else "no scheme"
        raise _RowError(field, f"URL must be http(s), got {shown}")
    if not value.lower().startswith(("http://", "https://")):
        raise _RowError(field, "URL must start with http:// or https://")
    if not host:
        raise _RowError(field, "URL has no host")
    if parts.username is not None or parts.password is not None:
        raise _RowError(field, "URL must not carry a user name or password")
    problem = host_problem(value)
    if problem is not None:
        raise _RowError(field, problem)
    return value


def _check_list(field: str, value: object, *, required: bool) -> tuple[str, ...]:
    if value is None or value == "" or value == []:
        if required:
            raise _RowError(field, "is required (at least one entry)")
        return ()
    if isinstance(value, (list, tuple)):
        items: Sequence[object] = value
    else:
        # A bare string is not taken for a one-entry list: "keywords": "a|b"
        # in JSON is a mistake for ["a", "b"] (CSV cells are split on "|"
        # by ``csv_rows`` before they get here).
        raise _RowError(field, f"expected a list of strings, got {_json_type(value)}")
    out: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise _RowError(field, f"entry {i + 1} is {_json_type(item)}, expected a string")
        item = item.strip()
        if not item:
            raise _RowError(field, f"entry {i + 1} is empty")
        if len(item) > _MAX_KEYWORD:
            raise _RowError(field, f"entry {i + 1} is longer than {_MAX_KEYWORD} characters")
        bad = _first_control(item)
        if bad is not None:
            raise _RowError(field, f"entry {i + 1} contains control character U+{ord(bad):04X}")
        if item not in out:
            out.append(item)
    return tuple(out)


def _check_decimal(field: str, value: object, *, lo: Decimal, hi: Decimal | None) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise _RowError(field, f"expected a decimal string, got {_json_type(value)}")
    text = str(value).strip()
    if text.startswith("-") and _DECIMAL_RE.fullmatch(text[1:].strip()):
        raise _RowError(field, f"{text} is negative (must be at least {lo})")
    if not _DECIMAL_RE.fullmatch(text):
        raise _RowError(field, f"{text!r} is not a plain decimal number like 129.00")
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex already guards this
        raise _RowError(field, f"{text!r} is not a decimal number") from None
    if number < lo or (hi is not None and number > hi):
        raise _RowError(field, f"{text} is outside {lo}..{hi if hi is not None else ''}")
    return number


def _check_availability(value: object) -> Availability:
    if value is None or value == "":
        return Availability.IN_STOCK
    if not isinstance(value, str):
        raise _RowError("availability", f"expected a string, got {_json_type(value)}")
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return Availability(key)
    except ValueError:
        allowed = ", ".join(a.value for a in Availability)
        raise _RowError("availability", f"{value!r} is not one of {allowed}") from None


def _check_datetime(field: str, value: object) -> _dt.datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _RowError(field, f"expected an ISO 8601 string, got {_json_type(value)}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise _RowError(field, f"{value!r} is not an ISO 8601 date-time") from None
    if when.tzinfo is None:
        raise _RowError(field, f"{value!r} has no time zone (add Z for UTC)")
    return when.astimezone(_dt.timezone.utc)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def parse_product(row: Mapping[str, Any]) -> tuple[Product, CommercialTerms | None]:
    """Check one row (a mapping of field name to value) and build its product.

    Values may be JSON-typed (lists, numbers) or CSV strings (lists separated
    by ``|``).  Unknown fields are ignored.

    Raises:
        CatalogError: naming the first bad field (path and line unknown here;
            the loaders fill them in).
    """
    try:
        return _parse(row)
    except _RowError as exc:
        raise CatalogError(exc.reason, field=exc.field) from None


def _parse(row: Mapping[str, Any]) -> tuple[Product, CommercialTerms | None]:
    pid = _check_text("id", row.get("id"), required=True, limit=_MAX_ID)
    if pid != pid.strip():
        raise _RowError("id", "has leading or trailing spaces")
    merchant = _check_text("merchant", row.get("merchant"), required=True, limit=_MAX_ID).strip()
    title = _check_text("title", row.get("title"), required=True)
    url = check_url("url", row.get("url"), required=True)
    assert url is not None
    keywords = _check_list("keywords", row.get("keywords"), required=True)
    image_url = check_url("image_url", row.get("image_url"), required=False)
    price = _check_decimal("price", row.get("price"), lo=Decimal(0), hi=None)
    currency_raw = _check_text("currency", row.get("currency"), required=False, limit=20).strip()
    if currency_raw and not _CURRENCY_RE.fullmatch(currency_raw):
        if _CURRENCY_RE.fullmatch(currency_raw.upper()):
            raise _RowError(
                "currency",
                f"{currency_raw!r} must be upper case: ISO 4217 codes are written "
                f"{currency_raw.upper()!r}",
            )
        raise _RowError("currency", f"{currency_raw!r} is not a three-letter ISO 4217 code")
    if price is not None and not currency_raw:
        raise _RowError("currency", "is required when price is given")
    availability = _check_availability(row.get("availability"))
    brand = _check_text("brand", row.get("brand"), required=False)
    category = _check_text("category", row.get("category"), required=False)
    description = _check_text("description", row.get("description"), required=False)
    commission = _check_decimal(
        "commission_rate", row.get("commission_rate"), lo=Decimal(0), hi=Decimal(1)
    )
    gtin_raw = row.get("gtin")
    if isinstance(gtin_raw, int) and not isinstance(gtin_raw, bool):
        gtin_raw = str(gtin_raw)
    gtin = _check_text("gtin", gtin_raw, required=False, limit=14).strip() or None
    if gtin is not None and not _GTIN_RE.fullmatch(gtin):
        raise _RowError("gtin", f"{gtin!r} is not an 8, 12, 13 or 14 digit barcode")
    model = _check_text("model", row.get("model"), required=False, limit=_MAX_ID).strip()
    checked = _check_datetime("price_checked_at", row.get("price_checked_at"))
    context_terms = _check_list("context_terms", row.get("context_terms"), required=False)
    negative_terms = _check_list("negative_terms", row.get("negative_terms"), required=False)
    product = Product(
        id=pid,
        merchant=merchant,
        title=title,
        url=url,
        keywords=keywords,
        image_url=image_url,
        price=price,
        currency=currency_raw or None,
        availability=availability,
        brand=brand,
        category=category,
        description=description,
        gtin=gtin,
        model=model,
        price_checked_at=checked,
        context_terms=context_terms,
        negative_terms=negative_terms,
    )
    terms = CommercialTerms(pid, commission) if commission is not None else None
    return product, terms


# --------------------------------------------------------------------------- files


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RowError(key, "appears twice in the object")
        out[key] = value
    return out


def jsonl_rows(data: bytes, path: str) -> Iterator[tuple[int, Mapping[str, Any] | RejectedRow]]:
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield (
                number,
                RejectedRow(
                    path,
                    number,
                    "",
                    f"not valid UTF-8 (byte {exc.start + 1} of the line)" + not_utf8_hint(raw),
                ),
            )
            continue
        if not line.strip():
            continue
        try:
            value = json.loads(line, parse_float=Decimal, object_pairs_hook=_no_duplicate_keys)
        except _RowError as exc:
            yield number, RejectedRow(path, number, exc.field, exc.reason)
            continue
        except json.JSONDecodeError as exc:
            yield (
                number,
                RejectedRow(path, number, "", f"invalid JSON: {exc.msg} (column {exc.colno})"),
            )
            continue
        except RecursionError:
            yield number, RejectedRow(path, number, "", "invalid JSON: nested too deeply")
            continue
        if not isinstance(value, dict):
            yield (
                number,
                RejectedRow(path, number, "", f"expected a JSON object, got {_json_type(value)}"),
            )
            continue
        yield number, value


def csv_rows(data: bytes, path: str) -> Iterator[tuple[int, Mapping[str, Any] | RejectedRow]]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    # surrogateescape keeps undecodable bytes as lone surrogates, so one bad
    # row is reported by line while the rest of the file is still read.
    text = data.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise CatalogError(f"unreadable CSV header: {exc}", path=path, line=1) from None
    header = [h.strip() for h in header]
    if any(_has_surrogate(h) for h in header):
        raise CatalogError(
            "header is not valid UTF-8" + not_utf8_hint(data), path=path, line=1
        )
    missing = [f for f in REQUIRED_FIELDS if f not in header]
    if missing:
        raise CatalogError(
            f"header lacks required column(s) {', '.join(missing)}", path=path, line=1
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise CatalogError(f"header repeats column(s) {', '.join(dupes)}", path=path, line=1)
    line = reader.line_num + 1
    hint: str | None = None
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield line, RejectedRow(path, line, "", f"malformed CSV: {exc}")
            line = reader.line_num + 1
            continue
        first, line = line, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if any(_has_surrogate(c) for c in cells):
            if hint is None:
                hint = not_utf8_hint(data)  # once, for the whole file
            yield first, RejectedRow(path, first, "", "not valid UTF-8" + hint)
            continue
        if len(cells) != len(header):
            yield (
                first,
                RejectedRow(
                    path, first, "", f"has {len(cells)} cells, the header has {len(header)}"
                ),
            )
            continue
        yield first, _split_lists(dict(zip(header, cells, strict=True)))


def _split_lists(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row with its list fields (``a|b|c``) split into lists."""
    for field in LIST_FIELDS:
        value = row.get(field)
        if isinstance(value, str) and value.strip():
            row[field] = value.split("|")
    return row


def _has_surrogate(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


# Encodings a Chinese export that is not UTF-8 is most likely in, tried in
# this order to name one in the error (GB18030 includes GBK and GB2312).
_CHINESE_ENCODINGS = ("gb18030", "big5")


def guess_encoding(data: bytes) -> str | None:
    """The first of the common Chinese encodings that decodes all of ``data``, if any.

    Only used to suggest an encoding in an error: a successful decode shows
    the bytes are consistent with it, not that the text is right.
    """
    for encoding in _CHINESE_ENCODINGS:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def not_utf8_hint(data: bytes) -> str:
    """What to tell a user whose file is not UTF-8: the encoding it decodes as, if any."""
    found = guess_encoding(data)
    if found is None:
        return ""
    return f" (it decodes as {found}: save it as UTF-8, e.g. iconv -f {found} -t utf-8)"


def refuse_spreadsheet(data: bytes, name: str) -> None:
    """Raise a clear ``CatalogError`` for a spreadsheet given where text is expected.

    XLSX files are zip archives (``PK``), old ``.xls`` files OLE2 compound
    files; read as text they would only be "not valid UTF-8".
    """
    if data.startswith(b"PK\x03\x04"):
        kind = "a spreadsheet (.xlsx, a zip archive)"
    elif data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        kind = "an Excel .xls file"
    else:
        return
    raise CatalogError(
        f"this is {kind}, not a shoplink JSON Lines or CSV catalog: read 淘宝联盟 / 京东联盟 "
        "exports with shoplink.TaobaoUnionExport / shoplink.JDUnionExport (.xlsx needs "
        "pip install 'shoplink[xlsx]'), or save the sheet as UTF-8 CSV",
        path=name,
    )


def _detect_format(path: str, data: bytes) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv",):
        return "csv"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "jsonl" if head in (b"{", b"[") else "csv"


def load_rows(
    rows: Iterable[tuple[int, Mapping[str, Any] | RejectedRow]],
    *,
    path: str,
    strict: bool,
    merchants: Mapping[str, Merchant] | None = None,
    merchant: Merchant | None = None,
    seen: dict[str, str] | None = None,
) -> tuple[list[Product], list[CommercialTerms], list[RejectedRow]]:
    """Turn numbered raw rows into products, applying the strict/lenient rule.

    Shared by every file format and merchant adapter: duplicate ids and URLs
    outside a declared merchant's domains are caught here, with the row's
    line number.

    Args:
        merchant: the one merchant these rows come from (an adapter's): a row
            without ``merchant`` gets its id, a row naming another merchant
            is bad, and its domains are always enforced.
        seen: product id to where it was first loaded, shared across calls
            so that ids stay unique across several sources.
    """
    products: list[Product] = []
    terms: list[CommercialTerms] = []
    rejected: list[RejectedRow] = []
    first_line: dict[str, str] = {} if seen is None else seen
    for number, row in rows:
        if isinstance(row, RejectedRow):
            bad = row
        else:
            try:
                if merchant is not None:
                    row = _own_merchant(row, merchant)
                product, term = _parse(row)
                declared = (
                    merchant if merchant is not None else (merchants or {}).get(product.merchant)
                )
                if declared is None and merchants:
                    raise _RowError("merchant", _undeclared(product.merchant, merchants))
                _check_domains(product, declared)
            except _RowError as exc:
                bad = RejectedRow(path, number, exc.field, exc.reason)
            else:
                if product.id in first_line:
                    bad = RejectedRow(
                        path,
                        number,
                        "id",
                        f"duplicate id {product.id!r} (first on {first_line[product.id]})",
                    )
                else:
                    first_line[product.id] = (
                        f"line {number}" if seen is None else (f"{path}:{number}")
                    )
                    products.append(product)
                    if term is not None:
                        terms.append(term)
                    continue
        if strict:
            raise bad.error()
        rejected.append(bad)
    return products, terms, rejected


def load_catalog(
    path: str | os.PathLike[str],
    strict: bool = True,
    *,
    format: str | None = None,
    merchants: Sequence[Merchant] = (),
    tracking: Mapping[str, LinkBuilder] | None = None,
) -> Catalog:
    """Load a catalog file in shoplink's JSON Lines or CSV format.

    Args:
        path: the file.  ``.jsonl``/``.ndjson``/``.json`` is JSON Lines,
            ``.csv`` is CSV; other names are sniffed from the first byte.
        strict: raise on the first bad row (default).  With ``False`` every
            good row is kept and the bad ones are listed in
            ``Catalog.rejected``.
        format: force ``"jsonl"`` or ``"csv"``.
        merchants: merchant declarations; a product URL outside its
            merchant's ``domains`` is then a bad row.
        tracking: merchant id to the ``LinkBuilder`` that makes its final
            link URLs (``QueryTracking``, ``UTM`` or your own), for a file
            holding several merchants' rows; merchants without one link to
            the product URL.  Built URLs are checked against the merchant's
            declared ``domains``, as an adapter's are.

    Raises:
        CatalogError: the file cannot be read, its CSV header is unusable,
            or (strict) a row is bad.  The message is ``PATH:LINE: field: reason``.
        ConfigError: ``tracking`` names a merchant that neither
            ``merchants`` declares nor any loaded row names, or holds
            something that is not callable.
    """
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read file: {exc.strerror or exc}", path=name) from None
    refuse_spreadsheet(data, name)
    fmt = format or _detect_format(name, data)
    if fmt == "jsonl":
        raw = jsonl_rows(data, name)
    elif fmt == "csv":
        raw = csv_rows(data, name)
    else:
        raise CatalogError(f"unknown catalog format {fmt!r} (use 'jsonl' or 'csv')", path=name)
    products, terms, rejected = load_rows(
        raw, path=name, strict=strict, merchants={m.id: m for m in merchants}
    )
    builders = dict(tracking or {})
    if builders:
        known = {m.id for m in merchants} | {p.merchant for p in products}
        for merchant_id, builder in builders.items():
            if not callable(builder):
                raise ConfigError(
                    f"tracking[{merchant_id!r}] must be a LinkBuilder (a callable), "
                    f"got {type(builder).__name__}"
                )
            if merchant_id not in known:
                # Most likely a typo ('JD' for 'jd'): its links would go untracked.
                raise ConfigError(
                    f"tracking names merchant {merchant_id!r}, which no row of {name} names "
                    f"(merchants: {', '.join(sorted(known)) or 'none'})"
                )
    catalog = Catalog.build(
        products,
        merchants=merchants,
        terms=terms,
        rejected=rejected,
        source=name,
        link_builders=builders,
    )
    log_load(catalog)
    return catalog


def log_load(catalog: Catalog) -> None:
    """The INFO record of a catalog load (``docs/logging.md``)."""
    from ._log import catalog_log

    catalog_log.info(
        "loaded catalog %s: %d product(s), %d rejected row(s), %d failed adapter(s)",
        catalog.source,
        len(catalog.products),
        len(catalog.rejected),
        len(catalog.failures),
    )


def _undeclared(merchant_id: str, merchants: Mapping[str, Merchant]) -> str:
    """Why a row's merchant is refused when the application declared its merchants."""
    near = [m for m in merchants if m.casefold() == merchant_id.casefold()]
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return (
        f"merchant {merchant_id!r} is not declared "
        f"(declared: {', '.join(sorted(merchants))}){hint}"
    )


def _own_merchant(row: Mapping[str, Any], merchant: Merchant) -> Mapping[str, Any]:
    named = row.get("merchant")
    if named is None or named == "":
        return {**row, "merchant": merchant.id}
    if named != merchant.id:
        raise _RowError(
            "merchant", f"row names merchant {named!r}, the source serves {merchant.id!r}"
        )
    return row


def _check_domains(product: Product, merchant: Merchant | None) -> None:
    if merchant is None:
        return
    for field in ("url", "image_url"):
        value = getattr(product, field)
        host = url_host(value) if value else None
        if host is not None and not merchant.allows_host(host):
            raise _RowError(
                field,
                f"host {host!r} is not among the domains of merchant {merchant.id!r} "
                f"({', '.join(merchant.domains)})",
            )


# --------------------------------------------------------------------------- merchants


def _from_merchants(
    cls: type[Catalog],
    adapters: Iterable[MerchantAdapter],
    *,
    strict: bool,
    source: str,
) -> Catalog:
    """``Catalog.from_merchants``: see there (kept out of the class for length)."""
    adapters = list(adapters)
    merchants: dict[str, Merchant] = {}
    builders: dict[str, LinkBuilder] = {}
    for adapter in adapters:
        merchant = adapter.merchant
        if not isinstance(merchant, Merchant):
            raise ConfigError(f"adapter {adapter.name!r}: merchant must be a shoplink Merchant")
        if not merchant.domains:
            raise ConfigError(
                f"adapter {adapter.name!r}: merchant {merchant.id!r} declares no link domains"
            )
        if merchant.id in merchants:
            raise ConfigError(f"adapter {adapter.name!r}: merchant {merchant.id!r} is served twice")
        merchants[merchant.id] = merchant
        builders[merchant.id] = adapter.link_url
    products: list[Product] = []
    terms: list[CommercialTerms] = []
    rejected: list[RejectedRow] = []
    failures: list[AdapterFailure] = []
    seen: dict[str, str] = {}
    for adapter in adapters:
        merchant = adapter.merchant
        mark = dict(seen)
        try:
            got, got_terms, bad = load_rows(
                _guarded(adapter),
                path=adapter.name,
                strict=strict,
                merchant=merchant,
                seen=seen,
            )
        except Exception as exc:
            if isinstance(exc, CatalogError) and exc.field:
                exc = _error_in_columns(exc, adapter)
            if strict:
                if isinstance(exc, CatalogError):
                    raise exc  # a bad row or file, named by source, line and field
                raise CatalogError(
                    f"adapter failed: {type(exc).__name__}: {exc}", path=adapter.name
                ) from exc
            # All or nothing per adapter: half an export is not what the
            # merchant published, and its ids must not block a later source.
            seen.clear()
            seen.update(mark)
            error = str(exc) if isinstance(exc, CatalogError) else f"{type(exc).__name__}: {exc}"
            failures.append(AdapterFailure(adapter.name, merchant.id, error))
            continue
        products.extend(got)
        terms.extend(got_terms)
        rejected.extend(_row_in_columns(r, adapter) for r in bad)
    catalog = cls.build(
        products,
        merchants=merchants.values(),
        terms=terms,
        rejected=rejected,
        source=source,
        failures=failures,
        link_builders=builders,
    )
    log_load(catalog)
    return catalog


def _column(field: str, adapter: MerchantAdapter) -> str:
    """Name the source's own column next to shoplink's field (``price (京东价(元))``)."""
    columns: Mapping[str, str] = getattr(adapter, "columns", {})
    column = columns.get(field)
    return f"{field} ({column})" if column and column != field else field


def _row_in_columns(row: RejectedRow, adapter: MerchantAdapter) -> RejectedRow:
    return attrs.evolve(row, field=_column(row.field, adapter))


def _error_in_columns(exc: CatalogError, adapter: MerchantAdapter) -> CatalogError:
    field = _column(exc.field, adapter)
    return CatalogError(exc.reason, path=exc.path, line=exc.line, field=field)


def _guarded(adapter: MerchantAdapter) -> Iterator[tuple[int, Mapping[str, Any] | RejectedRow]]:
    """The adapter's rows, with a row that is not a pair turned into a rejection."""
    for index, item in enumerate(adapter.rows(), start=1):
        if isinstance(item, RejectedRow):
            yield item.line, item
            continue
        if (
            not isinstance(item, tuple)
            or len(item) != 2
            or not isinstance(item[0], int)
            or not isinstance(item[1], Mapping)
        ):
            bad = f"adapter yielded {type(item).__name__}, expected a (line, fields) pair"
            yield index, RejectedRow(adapter.name, index, "", bad)
            continue
        yield item
