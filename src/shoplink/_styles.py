"""The three link forms, in Markdown and HTML, from one plan.

The linker decides *which* mentions get *which* product (the plan: chosen
links, in order of position).  A ``Form`` turns that plan into insertions:

- ``mention(...)``: what goes around a mention.  ``probe_prefix`` /
  ``probe_suffix`` is what the layout's ``place`` is asked about; ``prefix``
  / ``suffix`` is what is actually inserted.  For an inline link they are the
  same.  A card leaves the mention alone but asks ``place`` with an inline
  link's shape, so a product named in code or a heading gets no card either.
  A Markdown reference marker is inserted after the mention only; it is
  probed as the label of an inline link (see ``_MarkdownMarker``).
- ``finish(...)``: the pieces that go after blocks (card rows) or at the end
  of the answer (the reference list), and each link's offer, number and
  card position for the structured output.

Templates (Jinja2, ``StrictUndefined``, autoescape on for HTML) ship in
``shoplink/templates``; a user overrides any one by name.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import re
import unicodedata
from collections.abc import Sequence
from importlib import resources
from typing import Any, Protocol, cast

import attrs
import jinja2
import markupsafe

from ._catalog import Catalog
from ._exceptions import ConfigError
from ._html import HtmlLayout
from ._markdown import Block, MarkdownLayout, Placement, Refusal, ScanPoint
from ._offers import Offer, offer_of
from ._render import TemplateSource, make_environment
from ._result import Insertion, Link
from ._urls import is_http_url

__all__ = ["Form", "MentionMarkup", "default_stylesheet"]

_SENTINEL = "\ue000shoplink-mention\ue001"
_PROBE_URL = "https://x.invalid/"
_SHORT_TITLE = 36


class Layout(Protocol):
    """What a form needs from ``MarkdownLayout`` / ``HtmlLayout``."""

    def place(self, start: int, end: int, prefix: str, suffix: str) -> Placement | Refusal: ...


@attrs.frozen
class MentionMarkup:
    """What goes around one mention, and the shape ``place`` is asked about."""

    prefix: str
    suffix: str
    probe_prefix: str
    probe_suffix: str


# Rendered mention markups kept per form (a plain dict: reads and writes are
# atomic under the GIL, and a lost entry only costs a re-render).
_MENTION_CACHE = 4096


def default_stylesheet() -> str:
    """The small default CSS for HTML output (``shoplink/static/shoplink.css``).

    Class names: ``shoplink-link``, ``shoplink-label``, ``shoplink-cards``,
    ``shoplink-card``, ``shoplink-ref``, ``shoplink-references``.
    """
    return (resources.files("shoplink") / "static" / "shoplink.css").read_text("utf-8")


def _superscript(value: object) -> str:
    return str(value).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _environment(templates: TemplateSource, html: bool) -> jinja2.Environment:
    env = make_environment(templates, autoescape=html)
    env.filters["http_href"] = _http_href
    env.filters["superscript"] = _superscript
    env.globals["escape"] = markupsafe.escape
    env.globals["md_inline"] = env.filters["md_inline"]
    env.globals["md_price"] = env.filters["md_price"]
    return env


def _http_href(url: str) -> str:
    from ._urls import http_href

    return http_href(url)


class Form:
    """One style in one format: renders mention markup and the closing pieces.

    Args:
        style: ``"inline"``, ``"card"`` or ``"reference"``.
        format: ``"markdown"`` or ``"html"``.
        templates: overrides (a folder or a Jinja loader).
        numbering: reference style only: ``"continue"`` numbers shopping
            references after the answer's own trailing reference list and
            appends them to it; ``"separate"`` starts at 1 in a list of their
            own, which a stream can release as it goes.

    Raises:
        ConfigError: a template is missing, fails to render, or renders a
            shape that cannot be placed safely.
    """

    def __init__(
        self,
        style: str,
        format: str,
        templates: TemplateSource = None,
        numbering: str = "continue",
    ) -> None:
        self.style = style
        self.numbering = numbering
        # An inline link or a reference marker sits on the product's name:
        # where the answer names a product that a generic word (面膜) already
        # linked, the name links too (a marker cites the same entry).  A
        # card shows an item once.
        self.links_names_again = style != "card"
        self._mentions: dict[tuple[str, str | None, str, str, int], MentionMarkup] = {}
        self.format = format
        self.html = format == "html"
        self._ext = "html" if self.html else "md"
        self._env = _environment(templates, self.html)
        self._templates: dict[str, jinja2.Template] = {}
        names = {
            "inline": ["inline"],
            "card": ["inline", "card"],
            "reference": ["reference_marker", "reference_list"],
        }[style]
        for name in names:
            self._template(name)
        # Render once up front so that a broken override fails at construction.
        self.mention(url="https://example.com/", label="Sponsored", lang="en", title="x", number=1)
        sample = _view(
            Offer("x", "x", "x", "x", "https://example.com/", None, None, None, None, None, False)
        )
        if style == "card":
            self._render("card", cards=[sample], label="Sponsored", lang="en")
        elif style == "reference":
            entry = {**sample, "number": 1, "marker": "1."}
            self._render(
                "reference_list",
                entries=[entry],
                continued=False,
                loose=False,
                label="Sponsored",
                lang="en",
            )

    def _template(self, name: str) -> jinja2.Template:
        full = f"{name}.{self._ext}.j2"
        template = self._templates.get(full)
        if template is None:
            try:
                template = self._env.get_template(full)
            except jinja2.TemplateError as exc:
                raise ConfigError(f"template {full}: {exc}") from exc
            self._templates[full] = template
        return template

    def _render(self, name: str, **context: Any) -> str:
        try:
            return self._template(name).render(**context)
        except jinja2.TemplateError as exc:
            raise ConfigError(f"template {name}.{self._ext}.j2: {exc}") from exc

    def analyze(self, text: str, resume: ScanPoint | None = None) -> MarkdownLayout | HtmlLayout:
        """The layout of an answer in this form's format (``resume``: Markdown only)."""
        return HtmlLayout.analyze(text) if self.html else MarkdownLayout.analyze(text, resume)

    # -- around the mention ------------------------------------------------

    def _inline(self, url: str, label: str | None, lang: str, title: str) -> tuple[str, str]:
        name = f"inline.{self._ext}.j2"
        if not is_http_url(url):
            raise ValueError("the product URL is not http(s)")
        out = self._render("inline", text=_SENTINEL, url=url, label=label, lang=lang, title=title)
        if out.count(_SENTINEL) != 1:
            raise ConfigError(f"template {name} must render {{{{ text }}}} exactly once")
        prefix, suffix = out.split(_SENTINEL)
        if "\n" in out or "\r" in out:
            raise ConfigError(f"template {name} must render on one line")
        if not self.html and (prefix != "[" or not suffix.startswith("](")):
            raise ConfigError(
                f"template {name} must render an inline link: "
                "'[' + text + '](' ... (extra text goes after the link)"
            )
        return prefix, suffix

    def mention(
        self, *, url: str, label: str | None, lang: str, title: str, number: int
    ) -> MentionMarkup:
        """The markup around one mention (see the module docstring).

        Rendered markup is remembered (it is a pure function of the
        arguments): a link is rendered when it is decided and again when it
        is emitted, and the same product recurs across answers.

        Raises:
            ValueError: ``url`` is not http(s) (every style links to it somewhere).
            ConfigError: a template fails or renders an unsafe shape.
        """
        key = (url, label, lang, title, number)
        cached = self._mentions.get(key)
        if cached is not None:
            return cached
        markup = self._mention(url=url, label=label, lang=lang, title=title, number=number)
        if len(self._mentions) >= _MENTION_CACHE:
            self._mentions.clear()  # bounded; refilled by the next answers
        self._mentions[key] = markup
        return markup

    def _mention(
        self, *, url: str, label: str | None, lang: str, title: str, number: int
    ) -> MentionMarkup:
        if not is_http_url(url):
            raise ValueError("the product URL is not http(s)")
        if self.style == "reference":
            marker = self._render("reference_marker", number=number, lang=lang, label=label)
            if "\n" in marker or "\r" in marker or not marker:
                raise ConfigError("template reference_marker must render one non-empty line")
            if self.html:
                return MentionMarkup("", marker, "", marker)
            # Inserted after the mention alone.  It is probed as the label of
            # an inline link at the same place: its first and last characters
            # are punctuation like the link's "]" and the label's last
            # character, so every emphasis delimiter around it keeps its
            # flanking, and without the link's brackets no new scope exists.
            # ``place`` rejects labels with Markdown-active characters.
            if not (_is_punct(marker[0]) and _is_punct(marker[-1])):
                raise ConfigError(
                    "template reference_marker.md.j2 must start and end with "
                    "non-ASCII punctuation (like 【1】)"
                )
            return MentionMarkup("", marker, "[", f"]({_PROBE_URL}){marker}")
        prefix, suffix = self._inline(url, label, lang, title)
        if self.style == "card":
            return MentionMarkup("", "", prefix, suffix)
        return MentionMarkup(prefix, suffix, prefix, suffix)

    # -- after blocks / at the end -----------------------------------------

    def finish(
        self,
        text: str,
        layout: MarkdownLayout | HtmlLayout,
        links: Sequence[Link],
        catalog: Catalog,
        *,
        now: _dt.datetime,
        max_age: _dt.timedelta | None,
        lang: str,
        first_number: int = 1,
        langs: Sequence[str] | None = None,
        offers_seen: dict[tuple[str, str, str], Offer] | None = None,
        rows_seen: dict[tuple[object, ...], str] | None = None,
        rows_upto: int | None = None,
        rows_from: int | None = None,
        cards_done: dict[int, tuple[Link, Link]] | None = None,
    ) -> tuple[list[Insertion], list[Link]]:
        """Card rows or the reference list for ``links``, and the links with offers.

        ``lang`` is the answer's language (for the reference list at the end);
        ``langs``, aligned with ``links``, the language at each mention: a
        card row is worded in the language of its first mention, like its
        label, so that it never depends on text after it (streaming).
        ``offers_seen``: offers already made with the same catalog, ``now``
        and ``max_age``, by (product id, merchant, url); filled in.
        ``rows_seen``: card rows already rendered along a stream, by what
        they show; filled in.  ``rows_upto``: card rows anchored after it
        are left out (a stream's re-link releases nothing past it; the
        links still get their ``card_at``); ``rows_from``: so are rows
        anchored before it (a stream released them already).
        ``cards_done``: along a stream, by mention start, each link whose row
        is out and the link with its offer and ``card_at``; filled in, and
        taken as it is for the same link (the very object) later.
        """
        seen = offers_seen if offers_seen is not None else {}

        def offer_for(link: Link) -> Offer:
            key = (link.product_id, link.merchant, link.url)
            offer = seen.get(key)
            if offer is None:
                offer = seen[key] = offer_of(
                    catalog[link.product_id],
                    catalog.merchant(link.merchant),
                    now=now,
                    max_age=max_age,
                    url=link.url,
                )
            return offer

        out_links: list[Link] = []
        insertions: list[Insertion] = []
        if self.style == "card":
            rows: dict[int, list[tuple[Link, Offer, str]]] = {}
            for i, link in enumerate(links):
                if cards_done is not None:
                    done = cards_done.get(link.start)
                    if done is not None and done[0] is link:
                        out_links.append(done[1])  # its row is out and final
                        continue
                offer = offer_for(link)
                at = self._card_anchor(text, layout, link)
                out = attrs.evolve(link, offer=offer, card_at=at)
                out_links.append(out)
                if rows_from is not None and at < rows_from:
                    # Its row was released (a stream releases no row before
                    # it is final): nothing to insert, and nothing to redo.
                    if cards_done is not None:
                        cards_done[link.start] = (link, out)
                    continue
                link_lang = langs[i] if langs is not None else lang
                rows.setdefault(at, []).append((link, offer, link_lang))
            rendered = rows_seen if rows_seen is not None else {}
            for at, members in sorted(rows.items()):
                if rows_upto is not None and at > rows_upto:
                    break
                label = members[0][0].label
                row_key = (label, members[0][2], *(offer for _, offer, _ in members))
                body = rendered.get(row_key)
                if body is None:
                    body = rendered[row_key] = self._render(
                        "card",
                        cards=[_view(offer) for _, offer, _ in members],
                        label=label,
                        lang=members[0][2],
                    )
                insertions.append(Insertion(at, self._around_block(text, at, body)))
            return insertions, out_links
        offers = [offer_for(link) for link in links]
        if self.style == "reference":
            # One entry per product: a second link to it (a name after the
            # generic word that took it) cites the first one's number.
            numbers: dict[str, int] = {}
            entries: list[Offer] = []
            for link, offer in zip(links, offers, strict=True):
                number = numbers.get(link.product_id)
                if number is None:
                    number = numbers[link.product_id] = first_number + len(entries)
                    entries.append(offer)
                out_links.append(attrs.evolve(link, offer=offer, number=number))
            if links:
                insertions.append(
                    self._reference_list(text, layout, links[0].label, entries, first_number, lang)
                )
        else:
            out_links = [
                attrs.evolve(link, offer=offer) for link, offer in zip(links, offers, strict=True)
            ]
        return insertions, out_links

    def first_number(self, text: str, layout: MarkdownLayout | HtmlLayout) -> int:
        """The number the first shopping reference gets (after the answer's own)."""
        if self.style != "reference":
            return 1
        own = self._own_list(text, layout)
        return 1 if own is None else own.count + own.first

    def _own_list(self, text: str, layout: MarkdownLayout | HtmlLayout) -> _OwnList | None:
        if self.numbering == "separate":
            return None
        if isinstance(layout, HtmlLayout):
            found = layout.trailing_list()
            if found is None:
                return None
            return _OwnList(at=found[0], first=1, count=found[1], pattern="", loose=False)
        return _markdown_own_list(text)

    def _reference_list(
        self,
        text: str,
        layout: MarkdownLayout | HtmlLayout,
        label: str | None,
        offers: Sequence[Offer],
        first_number: int,
        lang: str,
    ) -> Insertion:
        own = self._own_list(text, layout)
        entries = []
        for i, offer in enumerate(offers):
            number = first_number + i
            view = _view(offer)
            view["number"] = number
            view["marker"] = (
                own.pattern.replace("{n}", str(number)) if own is not None else f"{number}."
            )
            entries.append(view)
        body = self._render(
            "reference_list",
            entries=entries,
            continued=own is not None,
            loose=own is not None and own.loose,
            label=label,
            lang=lang,
        )
        if isinstance(layout, HtmlLayout):
            at = own.at if own is not None else layout.end_anchor()
            return Insertion(at, body.strip("\n"))
        if own is not None:
            # Right after the last item's line, so the list stays one list
            # (and stays tight: trailing blank lines come after it).
            ends_line = text[: own.at].endswith("\n")
            lead = ("" if ends_line else "\n") + ("\n" if own.loose else "")
            return Insertion(own.at, lead + body + ("\n" if ends_line else ""))
        return Insertion(len(text), _block_gap(text, len(text)) + body + "\n")

    def _card_anchor(self, text: str, layout: MarkdownLayout | HtmlLayout, link: Link) -> int:
        if isinstance(layout, HtmlLayout):
            return layout.card_anchor(link.start)
        return markdown_card_anchor(text, layout, link.start)

    def _around_block(self, text: str, at: int, body: str) -> str:
        if self.html:
            return body.strip("\n")  # no text of its own outside the new elements
        body = body.strip("\n")
        after = "\n" if at < len(text) and _line_at(text, at).strip() else ""
        return _block_gap(text, at) + body + "\n" + after


@attrs.frozen
class _OwnList:
    at: int  # where continuing entries are inserted
    first: int  # the number of the answer's first entry
    count: int
    pattern: str  # the item marker with "{n}" for the number
    loose: bool


def _is_punct(ch: str) -> bool:
    return ord(ch) > 127 and unicodedata.category(ch).startswith("P")


def _view(offer: Offer) -> dict[str, Any]:
    title = " ".join(offer.title.split())
    short = title if len(title) <= _SHORT_TITLE else title[: _SHORT_TITLE - 1].rstrip() + "…"
    return {
        "product_id": offer.product_id,
        "title": title,
        "short_title": short,
        "url": offer.url,
        "image_url": offer.image_url,
        "merchant_name": offer.merchant_name,
        "price_text": offer.price_text,
        "price_checked_at": offer.price_checked_at,
        "price": offer.price,
        "currency": offer.currency,
    }


def _line_at(text: str, pos: int) -> str:
    end = text.find("\n", pos)
    return text[pos : len(text) if end < 0 else end]


def _block_gap(text: str, at: int) -> str:
    """Newlines to insert at ``at`` so that what follows starts after a blank line."""
    if at <= 0:
        return ""
    if text[at - 1] != "\n":
        return "\n\n"
    # The line before ``at`` (without copying the text before it).
    previous = text[text.rfind("\n", 0, at - 1) + 1 : at - 1]
    return "" if not previous.strip() else "\n"


def _block_start(block: Block) -> int:
    return block.start


# A line that continues a container (quote, list item) or is indented.
_CONTAINER_LINE = re.compile(r"[ \t]|>|[-+*](?:[ \t]|$)|[0-9]{1,9}[.)](?:[ \t]|$)")


def markdown_card_anchor(text: str, layout: MarkdownLayout, pos: int) -> int:
    """Where a Markdown card for a mention at ``pos`` goes.

    After the block that holds the mention, and after the whole list or
    blockquote when the block is inside one: a card inside a list item would
    need the item's indentation and would make a tight list loose.  The card
    goes before the next top-level block (a block that starts at column 0
    with no quote or list marker), or at the end of the answer.
    """
    blocks = layout.blocks
    block = layout.block_at(pos)
    after = block.end if block is not None else pos
    top_level = block is not None and not _CONTAINER_LINE.match(text, block.start)
    # Blocks are in document order: only those from ``after`` on can take it.
    i = bisect.bisect_left(blocks, after, key=_block_start)
    nonblank, top = _next_blocks(text, layout)
    j = nonblank[i] if top_level else top[i]
    return blocks[j].start if j < len(blocks) else len(text)


def _next_blocks(text: str, layout: MarkdownLayout) -> tuple[list[int], list[int]]:
    """Per block index ``i``: the first block from ``i`` on that is not blank, and
    the first that also starts a top-level block (``len(blocks)``: none).

    Made once per layout: looking ahead from each card's block cost time
    quadratic in a long list full of products.
    """
    memo = layout.memo.get("next_blocks")
    if memo is None:
        blocks = layout.blocks
        n = len(blocks)
        nonblank, top = [n] * (n + 1), [n] * (n + 1)
        for i in range(n - 1, -1, -1):
            b = blocks[i]
            nonblank[i], top[i] = nonblank[i + 1], top[i + 1]
            if b.kind == "blank":
                continue
            nonblank[i] = i
            if not _CONTAINER_LINE.match(text, b.start) and text[b.start : b.start + 1] not in (
                "",
                "\n",
            ):
                top[i] = i
        memo = layout.memo["next_blocks"] = (nonblank, top)
    return cast(tuple[list[int], list[int]], memo)


_OWN_HEADING = re.compile(
    r"(参考|来源|引用|资料|出处|references?|sources?|citations?|links?)", re.IGNORECASE
)
_OWN_ITEM = re.compile(r"^( {0,3})(\[)?([0-9]{1,4})(\]|[.)])[ \t]+\S")


def _markdown_own_list(text: str) -> _OwnList | None:
    """The answer's own trailing reference list, if it ends with one.

    Its items are lines ``1. …``, ``1) …`` or ``[1] …`` that each hold a link
    or URL, or follow a heading or bold line naming references/sources.
    """
    lines = text.split("\n")
    end_line = len(lines)
    while end_line > 0 and not lines[end_line - 1].strip():
        end_line -= 1
    if end_line == 0:
        return None
    items: list[tuple[int, re.Match[str]]] = []
    blank_between = False
    k = end_line - 1
    while k >= 0:
        line = lines[k]
        m = _OWN_ITEM.match(line)
        if m is not None:
            items.append((k, m))
        elif not line.strip() and items and k > 0 and _OWN_ITEM.match(lines[k - 1]):
            blank_between = True
        elif line.startswith((" ", "\t")) and items:
            pass  # a continuation line of an item
        else:
            break
        k -= 1
    if not items:
        return None
    items.reverse()
    numbers = [int(m.group(3)) for _, m in items]
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return None
    heading = lines[k] if k >= 0 else ""
    linked = all(
        "http://" in lines[i] or "https://" in lines[i] or "](" in lines[i] for i, _ in items
    )
    if not linked and not (_OWN_HEADING.search(heading) and len(heading) < 40):
        return None
    first = items[0][1]
    if first.group(2):  # [1] lines are text: continue with escaped brackets
        pattern = first.group(1) + "\\[{n}\\]"
    else:
        pattern = first.group(1) + "{n}" + first.group(4)
    at = sum(len(line) + 1 for line in lines[:end_line])
    return _OwnList(
        at=min(at, len(text)),
        first=numbers[0],
        count=len(numbers),
        pattern=pattern,
        loose=blank_between,
    )
