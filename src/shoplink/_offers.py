"""What a card or reference entry shows about a product: its offer.

Prices go stale.  A price is shown only with the date it was checked, and
not at all once that check is older than ``price_max_age``: a wrong price
next to a shopping link is a misleading advertisement (China's Advertising
Law art. 8 requires prices in ads to be accurate; the FTC says the same of
"bait" prices).  The default age is seven days: shops re-price at least
weekly around promotions (618, 双11, Black Friday), and a weekly feed
refresh is the slowest cadence shops commonly offer.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any

import attrs

from ._model import Merchant, Product
from ._urls import href_of, is_http_url

__all__ = ["DEFAULT_PRICE_MAX_AGE", "Offer", "offer_of"]

#: Prices checked longer ago than this are left out (see the module docstring).
DEFAULT_PRICE_MAX_AGE = _dt.timedelta(days=7)

# A check time this far in the future is bad data, not clock skew.
_FUTURE_SKEW = _dt.timedelta(days=1)

_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$"}
_NO_CENTS = frozenset({"JPY", "KRW", "VND", "IDR"})


@attrs.frozen
class Offer:
    """A product as a card or reference entry shows it.

    Attributes:
        product_id, title, merchant, merchant_name: what and where.
        url: the link target (http(s), percent-encoded).
        image_url: http(s) picture, or None.
        price, currency: shown only if fresh; None otherwise.
        price_text: the price formatted for display (``¥139.00``), or None.
        price_checked_at: when the shown price was checked, or None.
        price_withheld: True when the catalog had a price that was too old
            (or dated in the future) to show.
    """

    product_id: str
    title: str
    merchant: str
    merchant_name: str
    url: str
    image_url: str | None
    price: Decimal | None
    currency: str | None
    price_text: str | None
    price_checked_at: _dt.datetime | None
    price_withheld: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "product_id": self.product_id,
            "title": self.title,
            "merchant": self.merchant,
            "merchant_name": self.merchant_name,
            "url": self.url,
            "image_url": self.image_url,
            "price": None if self.price is None else str(self.price),
            "currency": self.currency,
            "price_text": self.price_text,
            "price_checked_at": (
                None if self.price_checked_at is None else self.price_checked_at.isoformat()
            ),
            "price_withheld": self.price_withheld,
        }


def format_price(price: Decimal, currency: str) -> str:
    """``¥139.00``, ``$19.99``, ``JP¥1,980``; unknown currencies as ``12.50 CHF``."""
    code = currency.upper()
    digits = f"{price:,.0f}" if code in _NO_CENTS else f"{price:,.2f}"
    symbol = _SYMBOLS.get(code)
    return f"{symbol}{digits}" if symbol else f"{digits} {code}"


def _aware(moment: _dt.datetime) -> _dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=_dt.timezone.utc)


def offer_of(
    product: Product,
    merchant: Merchant,
    *,
    now: _dt.datetime,
    max_age: _dt.timedelta | None,
    url: str | None = None,
) -> Offer:
    """The offer to show for ``product`` at time ``now``.

    A price without a check time is shown as is (the catalog makes no claim
    about its age); with one, it is shown only if ``now - checked <= max_age``
    (``max_age=None`` shows every price).  ``url`` is the final link target
    (the merchant's tracked URL, already encoded); by default the product's.
    """
    price, currency, checked = product.price, product.currency, product.price_checked_at
    withheld = False
    if price is not None and checked is not None:
        age = _aware(now) - _aware(checked)
        if age < -_FUTURE_SKEW or (max_age is not None and age > max_age):
            price = currency = checked = None
            withheld = True
    if price is None or currency is None:
        price = currency = checked = None
    image = product.image_url if product.image_url and is_http_url(product.image_url) else None
    return Offer(
        product_id=product.id,
        title=product.title,
        merchant=product.merchant,
        merchant_name=merchant.name or merchant.id,
        url=url if url is not None else href_of(product.url),
        image_url=None if image is None else href_of(image),
        price=price,
        currency=currency,
        price_text=None if price is None or currency is None else format_price(price, currency),
        price_checked_at=checked,
        price_withheld=withheld,
    )
