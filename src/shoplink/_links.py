"""Building the final link URL: product URL + link context + tracking.

A merchant's URL builder is a plain callable ``(product, context) -> str``
(``LinkBuilder``).  ``QueryTracking`` is the built-in one: it appends
sub-id or UTM parameters to the product URL without touching the query
string that is already there (affiliate links carry opaque, already-encoded
parameters that must survive byte for byte).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import attrs

from ._exceptions import ConfigError, LinkError
from ._model import Product
from ._urls import host_problem, url_host

__all__ = ["UTM", "LinkBuilder", "LinkContext", "QueryTracking", "add_query"]


@attrs.frozen
class LinkContext:
    """Where a link is being made, for tracking parameters.

    Attributes:
        answer_id: the assistant answer's id, if the caller has one.
        conversation_id: the conversation's id, if any.
        position: 1-based position of the link in the answer (the linker
            fills it in).
        style: ``"inline"``, ``"card"`` or ``"reference"`` (the linker fills
            it in).
    """

    answer_id: str | None = None
    conversation_id: str | None = None
    position: int = 0
    style: str = "inline"

    def fields(self, product: Product) -> dict[str, str]:
        """The values ``QueryTracking`` templates may use, as strings."""
        return {
            "answer_id": self.answer_id or "",
            "conversation_id": self.conversation_id or "",
            "position": str(self.position) if self.position else "",
            "style": self.style,
            "product_id": product.id,
            "merchant": product.merchant,
        }


#: A merchant's URL builder: the product and the link context in, the final URL out.
LinkBuilder = Callable[[Product, LinkContext], str]

_PLACEHOLDERS = frozenset(
    ("answer_id", "conversation_id", "position", "style", "product_id", "merchant")
)


def add_query(url: str, params: Mapping[str, str]) -> str:
    """Append ``params`` to ``url``'s query string, keeping what is there.

    Existing parameters stay exactly as written (their encoding is not
    redone), except ones with the same name as a new parameter, which are
    replaced.  Names and values are percent-encoded as UTF-8 with every
    reserved character escaped, so ``&``, ``=``, ``#`` or Chinese text in a
    value cannot change the URL's structure.  The fragment is kept.
    """
    parts = urlsplit(url)
    names = set(params)
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and unquote(pair.split("=", 1)[0].replace("+", " ")) not in names
    ]
    added = [f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items()]
    return urlunsplit(parts._replace(query="&".join(kept + added)))


class QueryTracking:
    """A ``LinkBuilder`` that adds tracking parameters to the product URL.

    Args:
        params: parameter name to a template.  Templates may use
            ``{answer_id}``, ``{conversation_id}``, ``{position}``,
            ``{style}``, ``{product_id}`` and ``{merchant}``; a parameter
            whose value comes out empty is left out.

    Raises:
        ConfigError: a template is malformed or names an unknown field.
    """

    def __init__(self, params: Mapping[str, str]) -> None:
        for name, template in params.items():
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
            except ValueError as exc:
                raise ConfigError(f"tracking parameter {name!r}: {exc}") from None
            unknown = [f for f in fields if f not in _PLACEHOLDERS]
            if unknown:
                raise ConfigError(
                    f"tracking parameter {name!r} uses unknown field(s) {', '.join(unknown)}; "
                    f"known: {', '.join(sorted(_PLACEHOLDERS))}"
                )
        self.params = dict(params)

    def __call__(self, product: Product, context: LinkContext) -> str:
        """The product URL with this builder's parameters added."""
        values = context.fields(product)
        rendered = {k: t.format_map(values) for k, t in self.params.items()}
        return add_query(product.url, {k: v for k, v in rendered.items() if v})

    def __repr__(self) -> str:
        return f"QueryTracking({self.params!r})"


#: UTM parameters: source shoplink, medium ai_assistant, the style as the
#: campaign, answer id and position as the content.
UTM = QueryTracking(
    {
        "utm_source": "shoplink",
        "utm_medium": "ai_assistant",
        "utm_campaign": "{style}",
        "utm_content": "{answer_id}",
        "utm_term": "{position}",
    }
)


# Whitespace (exactly what ``str.isspace`` calls whitespace) and control
# characters, none of which a built URL may hold.
_UNSAFE_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")


def checked_link(product: Product, url: object, domains: tuple[str, ...], builder: str) -> str:
    """Check a built URL: a string, absolute http(s), on the merchant's domains.

    Raises:
        LinkError: naming the merchant and product.
    """
    where = f"merchant {product.merchant!r}, product {product.id!r}"
    if not isinstance(url, str):
        raise LinkError(f"{builder} returned {type(url).__name__}, not a URL ({where})")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise LinkError(f"{builder} built a non-http(s) URL {url[:80]!r} ({where})")
    if _UNSAFE_IN_URL.search(url):
        raise LinkError(f"{builder} built a URL with whitespace or control characters ({where})")
    problem = host_problem(url)
    if problem is not None:
        raise LinkError(f"{builder} built a URL a browser may read otherwise: {problem} ({where})")
    host = url_host(url)
    if domains and not any(host == d or host.endswith("." + d) for d in domains):
        raise LinkError(
            f"{builder} built a URL on {host!r}, outside the merchant's domains "
            f"({', '.join(domains)}) ({where})"
        )
    return url
