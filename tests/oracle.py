"""Render oracle: does an answer with inserted links render like the original?

markdown-it-py configured as CommonMark + GFM tables + strikethrough +
linkify (GFM-style bare URLs; needs linkify-it-py) is the reference renderer.
Reused by any test that inserts links into Markdown.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import ClassVar

from markdown_it import MarkdownIt

__all__ = [
    "bad_link_contexts",
    "insert",
    "render",
    "same_rendering_with_links",
    "strip_inserted",
]

_MD = MarkdownIt("commonmark", {"linkify": True}).enable(["table", "strikethrough", "linkify"])


def render(md: str) -> str:
    """Render Markdown to HTML the way the answer's front end is assumed to."""
    return _MD.render(md)


def insert(text: str, edits: list[tuple[int, int, str, str]]) -> str:
    """Apply (start, end, prefix, suffix) insertions (non-overlapping) to ``text``."""
    out = text
    for start, end, prefix, suffix in sorted(edits, reverse=True):
        out = out[:end] + suffix + out[end:]
        out = out[:start] + prefix + out[start:]
    return out


def _html_escape_attr(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def strip_inserted(
    html: str, hrefs: set[str], labels: frozenset[str] | set[str] = frozenset()
) -> tuple[str, int]:
    """Remove the ``<a>`` elements whose href is inserted (keeping their children).

    ``labels``: rendered label text that follows an inserted link (``（广告）``),
    removed too.  Returns the stripped HTML and the number of links removed.
    """
    count = 0
    for href in hrefs:
        opener = re.compile(r'<a href="' + re.escape(_html_escape_attr(href)) + r'"[^>]*>')
        while True:
            m = opener.search(html)
            if m is None:
                break
            close = html.index("</a>", m.end())
            inner = html[m.end() : close]
            rest = html[close + 4 :]
            for label in sorted(labels, key=len, reverse=True):
                if label and rest.startswith(label):
                    rest = rest[len(label) :]
                    break
            html = html[: m.start()] + inner + rest
            count += 1
    return html, count


def same_rendering_with_links(
    before: str,
    after: str,
    inserted_hrefs: set[str],
    labels: frozenset[str] | set[str] = frozenset(),
    expected_links: int | None = None,
) -> bool:
    """True if ``after`` renders as ``before`` plus only the inserted links."""
    html, n = strip_inserted(render(after), inserted_hrefs, labels)
    if expected_links is not None and n != expected_links:
        return False
    return html == render(before)


class _ContextChecker(HTMLParser):
    _BAD: ClassVar[frozenset[str]] = frozenset({"code", "pre", "a"})

    def __init__(self, hrefs: set[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs = hrefs
        self.stack: list[str] = []
        self.bad: list[str] = []
        self.found = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and dict(attrs).get("href") in self.hrefs:
            self.found += 1
            bad = [t for t in self.stack if t in self._BAD]
            if bad:
                self.bad.append(bad[-1])
        if tag not in ("br", "hr", "img", "input"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass


def bad_link_contexts(after: str, inserted_hrefs: set[str]) -> tuple[int, list[str]]:
    """Render ``after``; return (inserted links found, enclosing bad tags).

    A bad tag is ``code``, ``pre`` or another ``a`` around an inserted link.
    A link that landed in raw HTML or code does not render as ``<a>`` at
    all, so it shows up as a missing link (count too low).
    """
    checker = _ContextChecker(inserted_hrefs)
    checker.feed(render(after))
    checker.close()
    return checker.found, checker.bad
