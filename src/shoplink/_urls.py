"""Encoding link targets and label text so that catalog data cannot break Markdown."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

__all__ = [
    "host_problem",
    "is_http_url",
    "markdown_destination",
    "markdown_inline",
    "markdown_price",
    "markdown_text",
]

# Everything RFC 3986 allows unencoded except the characters that end or
# confuse a Markdown link destination: parentheses, angle brackets, spaces,
# backslash, backtick, quotes, pipes (tables), braces.  '%' stays so existing
# escapes are not doubled.
_URL_SAFE = "!#$%&*+,/:;=?@[]~-._"
_ENTITY_LIKE = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_MD_PUNCT = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")


def markdown_destination(url: str) -> str:
    """Return ``url`` percent-encoded for use as ``[text](HERE)``.

    Non-ASCII characters become UTF-8 percent escapes; parentheses, spaces
    and other characters that would end or alter the destination are
    encoded.  An ``&`` that would start an HTML entity is backslash-escaped,
    since CommonMark decodes entities inside destinations.
    """
    encoded = quote(url, safe=_URL_SAFE)
    return _ENTITY_LIKE.sub(r"\\&", encoded)


# Controls, space, DEL and lone surrogates never belong in a link target.
_URL_BAD_CHAR = re.compile("[\x00-\x20\x7f\ud800-\udfff]")


# Where a WHATWG URL parser (a browser) reads a URL otherwise than
# ``urllib.parse.urlsplit``: a backslash ends the authority for a browser in
# http(s) URLs (``https://evil.example\.item.jd.com/`` is on evil.example),
# tabs and newlines are dropped anywhere, ``%`` in a host is decoded.
_WHATWG_DIFFERS = re.compile("[\t\n\r]")
_AUTHORITY = re.compile(r"[^:/?#]*:/*([^/?#]*)")
# What a browser's host (IDNA/UTS 46) mapping turns into a dot.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# A host as a domain name: labels of letters, digits and hyphens.
_HOST_LABELS = re.compile(r"(?:[^\W_](?:[^\W_]|-)*\.)*[^\W_](?:[^\W_]|-)*\.?")
_IP_LITERAL = re.compile(r"\[[0-9A-Fa-f:.]+\]")


def host_problem(url: str) -> str | None:
    """Why a browser might read another host in ``url`` than Python does, or None.

    ``urlsplit`` and a WHATWG URL parser agree on the host of a URL only
    when its authority is plain: no backslash (a browser's ``/``), no tab or
    line break (a browser drops them), no ``@`` (user info: everything
    before it is not the host), no ``%`` escape in the host (a browser
    decodes it), and a host made of letters, digits, hyphens and dots (or
    a bracketed IPv6 literal).  Such URLs are refused rather than guessed at.
    """
    if _WHATWG_DIFFERS.search(url):
        return "URL contains a tab or line break (a browser drops them)"
    try:
        netloc = urlsplit(url).netloc
    except ValueError as exc:
        return f"malformed URL ({exc})"
    if "\\" in _authority(url):
        # Python's authority runs to the first '/', '?' or '#'; a browser's
        # ends at a backslash too.  (In the path a backslash is harmless to
        # the host, and link targets percent-encode it.)
        return "URL has a backslash before its path (a browser reads another host)"
    if "@" in netloc:
        return "URL must not carry user info ('@' before the host)"
    host = netloc
    if host.startswith("["):
        end = host.find("]")
        if end < 0 or not _IP_LITERAL.fullmatch(host[: end + 1]):
            return "URL host is not a valid IPv6 literal"
        return None
    host = host.rsplit(":", 1)[0] if ":" in host else host
    if "%" in host:
        return "URL host contains a percent escape (a browser decodes it)"
    if not _HOST_LABELS.fullmatch(unicodedata.normalize("NFKC", host).translate(_DOTS)):
        return f"URL host {host!r} is not a domain name"
    return None


def _authority(url: str) -> str:
    """What follows ``scheme://`` up to the first ``/``, ``?`` or ``#`` (a backslash included)."""
    found = _AUTHORITY.match(url)
    return found.group(1) if found else ""


def url_host(url: str) -> str:
    """The host of ``url`` as a browser compares it: lower case, full-width dots as dots.

    Only meaningful for URLs ``host_problem`` accepts; ``""`` if there is none.
    """
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return unicodedata.normalize("NFKC", host).translate(_DOTS).lower().rstrip(".")


def is_http_url(url: str) -> bool:
    """True if ``url`` is an absolute http(s) URL with a host and nothing odd in it.

    The catalog checks this on load; renderers check it again because a
    ``Catalog`` can be built from ready-made ``Product`` values.
    """
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        return False
    if _URL_BAD_CHAR.search(url) or host_problem(url) is not None:
        return False
    try:
        parts = urlsplit(url)
        return bool(parts.hostname) and parts.username is None and parts.password is None
    except ValueError:
        return False


def http_href(url: str) -> str:
    """``href_of(url)``, refusing anything but http(s).

    Raises:
        ValueError: ``url`` is not an absolute http(s) URL.
    """
    if not is_http_url(url):
        raise ValueError("link target is not an http(s) URL")
    return href_of(url)


def href_of(url: str) -> str:
    """The URL a Markdown renderer produces from ``markdown_destination(url)``."""
    return quote(url, safe=_URL_SAFE)


def markdown_text(text: str) -> str:
    """Backslash-escape every ASCII punctuation character in ``text``.

    Escaped punctuation renders as itself, so any label shows literally and
    cannot open emphasis, links, code or HTML.
    """
    return _MD_PUNCT.sub(r"\\\1", text)


# Everything that ends a line or a table row, or is invisible control.
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def markdown_inline(text: str) -> str:
    """``markdown_text`` on one line: line breaks and control characters become spaces.

    For catalog text placed in table cells, list items and link text, where
    a line break would end the construct (and could start a new block).
    """
    return markdown_text(" ".join(_LINE_BREAKING.sub(" ", text).split()))


# A number with its grouping and decimal separators: ``1,234.56``.
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)*")


def markdown_price(text: str) -> str:
    """``markdown_inline`` for a price: ``¥109.00`` stays so, not ``¥109\\.00``.

    A ``.`` or ``,`` between digits is markup nowhere: not an ordered-list
    marker (that needs a space after it), not part of an address (a domain
    ends in letters).  So numbers are left as they are, and everything else
    (``$``, which some renderers read as math, included) is escaped as
    ``markdown_inline`` escapes it.
    """
    text = " ".join(_LINE_BREAKING.sub(" ", text).split())
    out: list[str] = []
    pos = 0
    for number in _NUMBER.finditer(text):
        out.append(markdown_text(text[pos : number.start()]))
        out.append(number.group())
        pos = number.end()
    out.append(markdown_text(text[pos:]))
    return "".join(out)
