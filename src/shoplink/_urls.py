"""Encoding link targets and label text so that catalog data cannot break Markdown."""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["markdown_destination", "markdown_text"]

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


def href_of(url: str) -> str:
    """The URL a Markdown renderer produces from ``markdown_destination(url)``."""
    return quote(url, safe=_URL_SAFE)


def markdown_text(text: str) -> str:
    """Backslash-escape every ASCII punctuation character in ``text``.

    Escaped punctuation renders as itself, so any label shows literally and
    cannot open emphasis, links, code or HTML.
    """
    return _MD_PUNCT.sub(r"\\\1", text)
