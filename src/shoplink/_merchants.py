"""The merchant adapter interface, merchant declarations, and discovery.

A merchant adapter reads one merchant's export in that platform's own format
and yields rows in shoplink's field names; it checks nothing itself.  All
checking happens in ``_catalog.load_rows``, the same code that reads
shoplink's own files, so a Taobao export and a JSON Lines file are held to
exactly the same rules.  Rejected rows carry the adapter's name as their
``path``.

Building a catalog from adapters is ``Catalog.from_merchants`` (in
``_catalog``, which imports this module; this module imports no catalog):
loading is isolated per adapter (lenient mode): an adapter that raises
contributes nothing and is recorded in ``Catalog.failures``; the others load.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, Union

import attrs

from ._exceptions import CatalogError
from ._links import LinkContext
from ._model import Merchant, Product, RejectedRow

__all__ = [
    "ENTRY_POINT_GROUP",
    "AdapterFailure",
    "InstalledMerchant",
    "MerchantAdapter",
    "SourceRow",
    "installed_merchants",
    "load_merchant_file",
]

#: The entry-point group under which packages register merchant adapters.
ENTRY_POINT_GROUP = "shoplink.merchants"

#: One row from an adapter: ``(line or item number, fields)`` with shoplink's
#: field names, or a ``RejectedRow`` for a row the adapter could not even read.
SourceRow = Union[tuple[int, Mapping[str, Any]], "RejectedRow"]


class MerchantAdapter(Protocol):
    """What a merchant adapter provides.  Implement it; inherit nothing.

    ``name`` names the source in every error (``"taobao:export.csv"``);
    ``merchant`` declares the shop, with the link ``domains`` its products
    may use (required); ``rows()`` yields ``(line, fields)`` pairs using
    shoplink's field names (see docs/catalog.md), where ``merchant`` may be
    left out; ``link_url`` builds the final URL of a link to one of its
    products (return ``product.url`` for no tracking).
    """

    @property
    def name(self) -> str:
        """The source's name, used in errors and in ``Catalog.failures``."""
        ...

    @property
    def merchant(self) -> Merchant:
        """The shop these rows come from, with its allowed link domains."""
        ...

    def rows(self) -> Iterable[SourceRow]:
        """The export's rows, numbered, in shoplink's field names."""
        ...

    def link_url(self, product: Product, context: LinkContext) -> str:
        """The final URL for a link to ``product`` made in ``context``."""
        ...


@attrs.frozen
class AdapterFailure:
    """A merchant adapter that failed as a whole while loading.

    Attributes:
        adapter: the adapter's ``name``.
        merchant: its merchant id.
        error: what went wrong (exception type and message).
    """

    adapter: str
    merchant: str
    error: str

    def __str__(self) -> str:
        return f"{self.adapter}: adapter failed: {self.error}"


# --------------------------------------------------------------------------- declarations

_MERCHANT_KEYS = frozenset(("id", "name", "house", "domains"))
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def load_merchant_file(path: str | os.PathLike[str]) -> tuple[Merchant, ...]:
    """Read a JSON list of merchant declarations (the shape of ``seeds/merchants.json``).

    Each entry is ``{"id": "jd", "name": "京东", "house": false, "domains":
    ["item.jd.com"]}``; only ``id`` is required.  Domains are host names in
    lower case (no scheme, path or port).

    Raises:
        CatalogError: the file cannot be read or an entry is bad; the
            message is ``PATH:LINE: field: reason`` (the line the entry
            starts on; field ``merchants[N].key``).
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise CatalogError(f"cannot read file: {exc.strerror or exc}", path=name) from None
    try:
        text = data.decode("utf-8-sig")
        entries = json.loads(text)
    except UnicodeDecodeError:
        raise CatalogError("not valid UTF-8", path=name) from None
    except json.JSONDecodeError as exc:
        raise CatalogError(f"not JSON ({exc.msg})", path=name, line=exc.lineno) from None
    if not isinstance(entries, list):
        raise CatalogError("expected a JSON list of merchants", path=name, line=1)
    starts = [m.start() for m in re.finditer(r"\{", text)]
    out: dict[str, Merchant] = {}
    for i, entry in enumerate(entries):
        # The line of the i-th top-level object, near enough: the i-th "{".
        line = text.count("\n", 0, starts[i]) + 1 if i < len(starts) else 1

        def bad(key: str, reason: str, i: int = i, line: int = line) -> CatalogError:
            return CatalogError(reason, path=name, line=line, field=f"merchants[{i}]{key}")

        if not isinstance(entry, dict):
            raise bad("", f"expected an object, got {type(entry).__name__}")
        unknown = sorted(set(entry) - _MERCHANT_KEYS)
        if unknown:
            raise bad("", f"unknown key(s) {', '.join(unknown)} (known: id, name, house, domains)")
        mid, shown, house = entry.get("id"), entry.get("name", ""), entry.get("house", False)
        domains = entry.get("domains", [])
        if not isinstance(mid, str) or not mid.strip():
            raise bad(".id", "is required (a non-empty string)")
        if mid in out:
            raise bad(".id", f"duplicate merchant {mid!r}")
        if not isinstance(shown, str):
            raise bad(".name", f"expected a string, got {type(shown).__name__}")
        if not isinstance(house, bool):
            raise bad(".house", f"expected true or false, got {type(house).__name__}")
        if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
            raise bad(".domains", "expected a list of host names")
        for domain in domains:
            if not _DOMAIN.fullmatch(domain):
                raise bad(".domains", f"{domain!r} is not a lower-case host name")
        out[mid] = Merchant(mid, shown, house=house, domains=tuple(domains))
    return tuple(out.values())


# --------------------------------------------------------------------------- discovery


@attrs.frozen
class InstalledMerchant:
    """A merchant adapter registered under the ``shoplink.merchants`` entry points.

    Attributes:
        name: the entry point's name (``"taobao"``).
        module: where it lives (``"shoplink._adapters:TaobaoExport"``).
        description: the first line of the adapter's docstring, if it loads.
        distribution: the package that registered it, if known.
        error: why it could not be imported, if it could not.
    """

    name: str
    module: str
    description: str
    distribution: str = ""
    error: str = ""

    def load(self) -> Any:
        """Import and return the registered adapter (usually a class)."""
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == self.name and ep.value == self.module:
                return ep.load()
        raise LookupError(f"merchant adapter {self.name!r} is no longer installed")


def installed_merchants() -> tuple[InstalledMerchant, ...]:
    """Every merchant adapter installed under the ``shoplink.merchants`` group, by name.

    An entry point that fails to import is still listed, with its ``error``.
    """
    out = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else ""
        try:
            obj = ep.load()
        except Exception as exc:
            out.append(
                InstalledMerchant(
                    ep.name, ep.value, "", dist_name or "", f"{type(exc).__name__}: {exc}"
                )
            )
            continue
        doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
        out.append(InstalledMerchant(ep.name, ep.value, doc[0] if doc else "", dist_name or ""))
    return tuple(sorted(out, key=lambda m: (m.name, m.module)))
