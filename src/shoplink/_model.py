"""The catalog's value types: products, merchants, commercial terms, rejected rows.

Everything here is a frozen attrs class: a stage of the pipeline can hand
them on without fear that a later stage changes them.

Money is split off on purpose.  ``Product`` carries what a shopper sees
(title, price for display, picture); ``CommercialTerms`` carries what only
the operator's reporting may see (commission).  Ranking works on a third
type, ``RelevanceProfile``, which has neither prices nor commissions nor the
merchant: neutrality is a property of the types, not a promise.

``RejectedRow`` lives here, below both ``_catalog`` (which rejects rows it
reads) and ``_merchants`` (whose adapters may yield one), so that the
catalog can build from adapters without the two importing each other.
"""

from __future__ import annotations

import datetime as _dt
import enum
from decimal import Decimal

import attrs

from ._exceptions import CatalogError

__all__ = [
    "Availability",
    "CommercialTerms",
    "Merchant",
    "Product",
    "RejectedRow",
    "RelevanceProfile",
]


class Availability(str, enum.Enum):
    """Whether a product can be bought now.  Only ``OUT_OF_STOCK`` blocks a link."""

    IN_STOCK = "in_stock"
    OUT_OF_STOCK = "out_of_stock"
    PREORDER = "preorder"
    BACKORDER = "backorder"

    @property
    def purchasable(self) -> bool:
        """True unless the product is out of stock."""
        return self is not Availability.OUT_OF_STOCK


@attrs.frozen
class Merchant:
    """A shop that products link into.

    Attributes:
        id: short stable identifier used in product rows (``"jd"``).
        name: display name (``"京东"``).
        house: True for the assistant operator's own shop.  Flagged on every
            link for transparency; never consulted when choosing.
        domains: hosts this merchant's links may point to.  Empty means
            "not declared": only the http(s) scheme is then enforced.
    """

    id: str
    name: str = ""
    house: bool = False
    domains: tuple[str, ...] = ()

    def allows_host(self, host: str) -> bool:
        """True if ``host`` is one of ``domains`` or a subdomain of one."""
        if not self.domains:
            return True
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)


@attrs.frozen
class Product:
    """One product as a shopper sees it.

    Attributes:
        id: unique across the catalog.
        merchant: the ``Merchant.id`` selling it.
        title: the shop's full product title.
        url: http(s) product page or affiliate link.
        keywords: the names an answer may use for the product.
        image_url: http(s) picture for cards, if any.
        price: display price, if known.  Never used to choose.
        currency: ISO 4217 code of ``price``.
        availability: stock state; out-of-stock products are never linked.
        brand, category, description: free text used for relevance.
        gtin: barcode; products sharing one are offers of the same item.
        model: the maker's model number (MPN); products with the same
            brand and model are offers of the same item too.
        price_checked_at: when ``price`` was last confirmed.
        context_terms: words that must appear near the mention or in the
            query for an ambiguous name to link here (苹果 the fruit).
        negative_terms: words that veto this product when present.
    """

    id: str
    merchant: str
    title: str
    url: str
    keywords: tuple[str, ...]
    image_url: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    availability: Availability = Availability.IN_STOCK
    brand: str = ""
    category: str = ""
    description: str = ""
    gtin: str | None = None
    model: str = ""
    price_checked_at: _dt.datetime | None = None
    context_terms: tuple[str, ...] = ()
    negative_terms: tuple[str, ...] = ()

    def profile(self) -> RelevanceProfile:
        """The money-free, merchant-free view that ranking is allowed to see."""
        return RelevanceProfile(
            product_id=self.id,
            title=self.title,
            keywords=self.keywords,
            brand=self.brand,
            category=self.category,
            description=self.description,
            purchasable=self.availability.purchasable,
            context_terms=self.context_terms,
            negative_terms=self.negative_terms,
        )


@attrs.frozen
class RelevanceProfile:
    """What ranking may know about a product: text and stock, nothing else.

    There is deliberately no price, commission, bid or merchant here.
    """

    product_id: str
    title: str
    keywords: tuple[str, ...]
    brand: str
    category: str
    description: str
    purchasable: bool
    context_terms: tuple[str, ...] = ()
    negative_terms: tuple[str, ...] = ()


@attrs.frozen
class CommercialTerms:
    """Money attached to a product, kept for the operator's reporting only.

    The linker never reads this type; ``Catalog.terms`` holds it so that a
    report can show commission next to the neutral choice that was made.
    """

    product_id: str
    commission_rate: Decimal | None = None


@attrs.frozen
class RejectedRow:
    """A catalog row that was not loaded, and why.

    Attributes:
        path: the source file (or adapter name).
        line: 1-based line number of the row (its first line for CSV rows
            spanning several lines).
        field: the offending field, ``""`` for the row as a whole.
        reason: what is wrong.
    """

    path: str
    line: int
    field: str
    reason: str

    def error(self) -> CatalogError:
        """The ``CatalogError`` that strict loading raises for this row."""
        return CatalogError(self.reason, path=self.path, line=self.line, field=self.field)

    def __str__(self) -> str:
        return self.error().location_message()
