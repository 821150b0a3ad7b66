"""Code written the way a user writes it; must pass ``mypy --strict``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from typing_extensions import Unpack

import shoplink


def link_answer(answer: str, query: str | None = None) -> tuple[str, list[str]]:
    catalog = shoplink.demo_catalog()
    linker = shoplink.Linker(catalog, label="cn", max_links=3)
    result: shoplink.LinkResult = linker.link(answer, query=query)
    ids = [link.product_id for link in result.links]
    for skip in result.skipped:
        reason: shoplink.SkipReason = skip.reason
        print(skip.mention, reason.value)
    return result.text, ids


def load(path: str) -> shoplink.Catalog:
    try:
        return shoplink.load_catalog(path, strict=False)
    except shoplink.CatalogError as exc:
        print(exc.path, exc.line, exc.field, exc.reason)
        raise


def link_cards_in_html(answer: str) -> str:
    linker = shoplink.Linker(shoplink.demo_catalog(), style="card", format="html", label="us")
    css: str = shoplink.default_stylesheet()
    return f"<style>{css}</style>" + linker.link(answer).text


def stream_answer(linker: shoplink.Linker, events: list[dict[str, object]]) -> str:
    """A user streaming LLM client events through the linker, pull and push style."""
    pulled = "".join(linker.stream(shoplink.text_deltas(events), query="面膜"))
    push: shoplink.LinkStream = linker.streamer(query="面膜")
    pushed = "".join(push.feed(shoplink.chunk_text(e)) for e in events) + push.flush()
    assert pulled == pushed and push.pending == 0
    return pulled


async def astream_answer(linker: shoplink.Linker, events: AsyncIterator[object]) -> str:
    """The async variant, as a FastAPI endpoint would use it."""
    return "".join([p async for p in linker.astream(shoplink.atext_deltas(events))])


def stream_with_receipt(linker: shoplink.Linker, chunks: list[str]) -> shoplink.LinkResult:
    """A stream with tracking ids and a fixed clock, keeping its receipt."""
    context = shoplink.LinkContext(answer_id="a-1", conversation_id="c-9")
    pieces: shoplink.LinkIterator = linker.stream(chunks, "面膜", context=context)
    text = "".join(pieces)
    push = linker.streamer("面膜", context=context, now=None)
    for chunk in chunks:
        push.feed(chunk)
    push.flush()
    assert push.result == pieces.result and pieces.result.text == text
    return pieces.result


async def astream_with_receipt(
    linker: shoplink.Linker, chunks: AsyncIterator[str], **options: Unpack[shoplink.LinkOptions]
) -> list[shoplink.Link]:
    """Forwarding the per-call options, typed, and reading the result once done."""
    pieces: shoplink.AsyncLinkIterator = linker.astream(chunks, **options)
    async for piece in pieces:
        print(piece, end="")
    try:
        return list(pieces.result.links)
    except shoplink.StreamError:
        return []


def link_bytes(linker: shoplink.Linker, body: bytes) -> str:
    """An answer read from a socket or file as UTF-8 bytes is linked as it is."""
    return linker.link(body, query="面膜").text + linker.link(b"AirPods Pro 2").text
