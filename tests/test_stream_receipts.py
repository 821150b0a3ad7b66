"""Streams with full receipts: ``now=``, ``context=`` and the final ``LinkResult``.

Every stream entry point takes ``link()``'s per-call options with the same
meaning, and at its end hands over the very ``LinkResult`` that
``link(whole, query, now=..., context=...)`` gives: links with candidates
and reasons, skipped mentions with reasons, insertions, original and text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import typing
from collections.abc import AsyncIterator, Iterable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shoplink
from shoplink import Gate, LinkContext, LinkResult, QueryTracking, StreamError, _linker
from shoplink._options import CallOptions, LinkOptions
from tests.conftest import catalog_from_rows, generic_then_named_catalog, product_row
from tests.strategies_markdown import WORDS, documents
from tests.test_stream import ANSWERS, DEMO, answer_in, cut, html_documents

NOW = dt.datetime(2026, 1, 10, tzinfo=dt.timezone.utc)
CONTEXT = LinkContext(answer_id="a7", conversation_id="c9")
# Tracked URLs built from the conversation: what differed between link()
# (``sub=c9_1``) and stream() (``sub=_1``) before streams took ``context=``.
TRACKING = QueryTracking({"sub": "{conversation_id}_{position}", "ans": "{answer_id}-{style}"})


def tracked(catalog: shoplink.Catalog) -> shoplink.Catalog:
    """``catalog`` with every merchant's URLs built from the link context."""
    return shoplink.Catalog.build(
        catalog.products,
        merchants=catalog.merchants.values(),
        terms=catalog.terms.values(),
        link_builders={merchant: TRACKING for merchant in catalog.merchants},
    )


# The generated documents name WORDS; half the products have a price checked
# a week before NOW, so a ``now=`` a month later leaves those prices out of
# cards and references (and a stream that ignored ``now=`` would differ).
WORDS_CATALOG = tracked(
    catalog_from_rows(
        [
            product_row(
                f"p{i}",
                [w],
                **(
                    {"price": "99.00", "currency": "CNY", "price_checked_at": "2026-01-03T08:00:00Z"}
                    if i % 2
                    else {}
                ),
            )
            for i, w in enumerate(WORDS)
        ]
    )
)
STYLES = ("inline", "card", "reference")
WORDS_FORMS = {
    (style, fmt, stop): shoplink.Linker(
        WORDS_CATALOG,
        style=style,
        format=fmt,
        label="us",
        max_links=1 if stop == "cap" else None,
        gates=[Gate("stop", terms=("很好", "and"), scope="answer")] if stop == "gate" else [],
    )
    for style in STYLES
    for fmt in ("markdown", "html")
    for stop in ("none", "cap", "gate")
}
DEMO_FORMS = {
    (style, fmt): shoplink.Linker(tracked(DEMO), style=style, format=fmt)
    for style in STYLES
    for fmt in ("markdown", "html")
}
KINDS = ("push", "iterator", "async")


def streamed(
    linker: shoplink.Linker,
    chunks: list[Any],
    query: str | None,
    kind: str,
    **options: typing.Unpack[LinkOptions],
) -> tuple[str, LinkResult]:
    """Stream ``chunks`` through one entry point: the text out and the final result."""
    if kind == "push":
        stream = linker.streamer(query, **options)
        out = "".join(stream.feed(chunk) for chunk in chunks) + stream.flush()
        return out, stream.result
    if kind == "iterator":
        pieces = linker.stream(chunks, query, **options)
        out = "".join(pieces)
        return out, pieces.result

    async def source() -> AsyncIterator[Any]:
        for chunk in chunks:
            yield chunk

    async def run() -> tuple[str, LinkResult]:
        pieces = linker.astream(source(), query, **options)
        out = "".join([piece async for piece in pieces])
        return out, pieces.result

    return asyncio.run(run())


def assert_same_result(got: LinkResult, want: LinkResult) -> None:
    """Field by field, so that a failure names the field that differs."""
    for field in attrs.fields(LinkResult):
        assert getattr(got, field.name) == getattr(want, field.name), field.name
    assert got == want


def check_receipt(
    linker: shoplink.Linker,
    answer: str,
    chunks: list[Any],
    query: str | None,
    kind: str = "push",
    **options: typing.Unpack[LinkOptions],
) -> LinkResult:
    whole = linker.link(answer, query, **options)
    out, result = streamed(linker, chunks, query, kind, **options)
    assert out == whole.text
    assert_same_result(result, whole)
    return whole


# -- the property -----------------------------------------------------------------


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    doc=st.lists(documents(), min_size=1, max_size=3).map("\n\n".join),
    html=st.lists(html_documents(), min_size=1, max_size=3).map("".join),
    form=st.sampled_from(sorted(WORDS_FORMS)),
    kind=st.sampled_from(KINDS),
    options=st.sampled_from(
        [{"now": NOW, "context": CONTEXT}, {"context": CONTEXT}, {"now": NOW + dt.timedelta(30)}]
    ),
    data=st.data(),
)
def test_the_streams_result_is_links_for_any_answer_and_any_cut(
    doc: str, html: str, form: tuple[str, str, str], kind: str, options: Any, data: st.DataObject
) -> None:
    # Every form (inline, card, reference x Markdown, HTML), linking that
    # stops partway (a cap, a gate) or not, each entry point, a context
    # carrying ids into tracked URLs: the stream's LinkResult is link()'s.
    text = html if form[1] == "html" else doc
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=30))
    check_receipt(WORDS_FORMS[form], text, cut(text, points), "skin", kind, **options)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_streams_result_for_demo_answers_cut_anywhere(data: st.DataObject) -> None:
    form = data.draw(st.sampled_from(sorted(DEMO_FORMS)))
    a = data.draw(st.sampled_from(ANSWERS))
    text = answer_in(form[1], a)
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=40))
    query = data.draw(st.sampled_from([a.query, None]))
    kind = data.draw(st.sampled_from(KINDS))
    check_receipt(DEMO_FORMS[form], text, cut(text, points), query, kind, now=NOW, context=CONTEXT)


@pytest.mark.parametrize("form", sorted(DEMO_FORMS), ids="-".join)
def test_the_streams_result_for_every_demo_answer_in_utf8_bytes(form: tuple[str, str]) -> None:
    for a in ANSWERS:
        data = answer_in(form[1], a).encode()
        chunks = [data[i : i + 7] for i in range(0, len(data), 7)]  # splits characters
        check_receipt(DEMO_FORMS[form], data.decode(), chunks, a.query, now=NOW, context=CONTEXT)


@pytest.mark.parametrize("style", STYLES)
def test_a_name_after_a_generic_word_has_the_same_receipt(style: str) -> None:
    # Decisions that read earlier blocks (the generic word's product) are
    # carried along the stream; their records must be link()'s too.
    from tests.conftest import GENERIC_THEN_NAMED

    answer = GENERIC_THEN_NAMED + "\n补水的面膜可以再看看美白面膜。\n"
    linker = shoplink.Linker(tracked(generic_then_named_catalog()), style=style, max_links=None)
    for size in (1, 4, 64):
        chunks = [answer[i : i + size] for i in range(0, len(answer), size)]
        whole = check_receipt(linker, answer, chunks, "敏感肌面膜", context=CONTEXT)
        assert whole.links and whole.skipped


# -- tracked URLs -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("style", STYLES)
def test_stream_urls_built_from_the_conversation_equal_link_urls(kind: str, style: str) -> None:
    linker = shoplink.Linker(tracked(DEMO), style=style)
    a = ANSWERS[0]
    chunks = [a.answer[i : i + 5] for i in range(0, len(a.answer), 5)]
    whole = check_receipt(linker, a.answer, chunks, a.query, kind, context=CONTEXT)
    urls = [link.url for link in whole.links]
    assert urls and all("sub=c9_" in url for url in urls)
    assert "sub=c9_1" in urls[0] and f"ans=a7-{style}" in urls[0]
    _, result = streamed(linker, chunks, a.query, kind, context=CONTEXT)
    assert [link.url for link in result.links] == urls
    # Without a context, link() and the stream agree too (no ids: ``sub=_1``).
    _, plain = streamed(linker, chunks, a.query, kind)
    assert "sub=_1" in plain.links[0].url
    assert [link.url for link in plain.links] == [
        link.url for link in linker.link(a.answer, a.query).links
    ]


def test_now_is_the_clock_of_the_whole_stream() -> None:
    # A price checked on 2026-01-03 is fresh a week later, stale in March:
    # the stream judges it against ``now=``, as link() does.
    linker = shoplink.Linker(WORDS_CATALOG, style="card", label="us")
    answer = f"推荐{WORDS[1]}。\n\n正文\n"  # p1: priced
    chunks = list(answer)
    fresh = check_receipt(linker, answer, chunks, None, now=NOW)
    later = NOW + dt.timedelta(days=60)
    stale = check_receipt(linker, answer, chunks, None, now=later)
    assert "99" in fresh.text and "99" not in stale.text
    fresh_offer = fresh.links[0].offer
    stale_offer = stale.links[0].offer
    assert fresh_offer is not None and stale_offer is not None
    assert fresh_offer.price is not None and stale_offer.price is None


# -- the result's availability ----------------------------------------------------------


def test_result_before_flush_raises_a_stream_error() -> None:
    stream = DEMO_FORMS["inline", "markdown"].streamer(ANSWERS[0].query)
    with pytest.raises(StreamError, match="flush"):
        _ = stream.result
    stream.feed(ANSWERS[0].answer)
    with pytest.raises(StreamError):
        _ = stream.result
    stream.flush()
    assert stream.result.links
    assert issubclass(StreamError, shoplink.ShoplinkError)
    assert issubclass(StreamError, RuntimeError)  # as feed() after flush() always raised
    with pytest.raises(StreamError):
        stream.feed("x")
    with pytest.raises(StreamError):
        stream.flush()


def test_iterator_result_only_after_the_end() -> None:
    a = ANSWERS[0]
    pieces = DEMO_FORMS["card", "markdown"].stream(list(a.answer), a.query, context=CONTEXT)
    with pytest.raises(StreamError, match="iteration has ended"):
        _ = pieces.result
    first = next(pieces)
    with pytest.raises(StreamError):
        _ = pieces.result
    rest = "".join(pieces)
    whole = DEMO_FORMS["card", "markdown"].link(a.answer, a.query, context=CONTEXT)
    assert first + rest == whole.text
    assert pieces.result == whole
    # Stopped early: no result, ever.
    stopped = DEMO_FORMS["card", "markdown"].stream(list(a.answer), a.query)
    next(stopped)
    stopped.close()
    assert list(stopped) == []
    with pytest.raises(StreamError):
        _ = stopped.result


def test_async_iterator_result_only_after_the_end() -> None:
    a = ANSWERS[2]

    async def chunks() -> AsyncIterator[str]:
        for i in range(0, len(a.answer), 3):
            yield a.answer[i : i + 3]

    async def run() -> None:
        pieces = DEMO_FORMS["reference", "markdown"].astream(chunks(), a.query, now=NOW)
        with pytest.raises(StreamError):
            _ = pieces.result
        out = "".join([piece async for piece in pieces])
        whole = DEMO_FORMS["reference", "markdown"].link(a.answer, a.query, now=NOW)
        assert out == whole.text and pieces.result == whole
        stopped = DEMO_FORMS["reference", "markdown"].astream(chunks(), a.query)
        await stopped.__anext__()
        await stopped.aclose()
        with pytest.raises(StreamError):
            _ = stopped.result

    asyncio.run(run())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("chunks", [[], [""], ["", ""], [b""]])
def test_an_empty_stream_has_links_empty_result(kind: str, chunks: list[Any]) -> None:
    for linker in DEMO_FORMS.values():
        check_receipt(linker, "", chunks, None, kind, context=CONTEXT)


def test_an_answer_without_mentions_has_links_result() -> None:
    for linker in DEMO_FORMS.values():
        check_receipt(linker, "nothing to see\n\nhere", ["nothing ", "to see\n\nhe", "re"], None)


def test_a_gated_query_streams_with_the_full_receipt() -> None:
    # The stream passes text through from the start; its result still lists
    # every mention as gated, with the gate that tripped.
    a = ANSWERS[0]
    query = "湿疹反复发作，用什么药膏能根治？"
    for (_, fmt), linker in DEMO_FORMS.items():
        text = answer_in(fmt, a)
        whole = check_receipt(linker, text, list(text), query, context=CONTEXT)
        assert whole.skipped and not whole.links
        assert {skip.reason for skip in whole.skipped} >= {shoplink.SkipReason.GATED}


# -- the options -------------------------------------------------------------------------


def test_link_options_and_the_call_value_name_the_same_options() -> None:
    # Adding a per-call option is a key of LinkOptions and the field of the
    # same name in CallOptions: they must not drift apart.
    assert set(typing.get_type_hints(LinkOptions)) == set(attrs.fields_dict(CallOptions))
    assert LinkOptions.__required_keys__ == frozenset()


def test_a_keyword_that_is_no_option_is_a_type_error() -> None:
    linker = DEMO_FORMS["inline", "markdown"]
    bad: Any = {"nwo": NOW}
    with pytest.raises(TypeError, match="nwo"):
        linker.streamer("q", **bad)
    with pytest.raises(TypeError, match="nwo"):
        linker.stream([], "q", **bad)
    with pytest.raises(TypeError, match="nwo"):
        linker.astream(_no_chunks(), "q", **bad)
    with pytest.raises(TypeError, match="nwo"):
        shoplink.LinkStream(linker, "q", **bad)


async def _no_chunks() -> AsyncIterator[str]:
    for chunk in ():
        yield chunk


@pytest.mark.parametrize(
    "options", [{"now": "2026-01-01"}, {"context": {"conversation_id": "c9"}}]
)
def test_an_option_of_the_wrong_type_is_a_config_error(options: Any) -> None:
    with pytest.raises(shoplink.ConfigError):
        DEMO_FORMS["inline", "markdown"].streamer("q", **options)


def test_explicit_none_options_mean_the_defaults() -> None:
    a = ANSWERS[0]
    linker = DEMO_FORMS["inline", "markdown"]
    check_receipt(linker, a.answer, list(a.answer), a.query, now=None, context=None)


# -- no re-link of the whole answer at the end --------------------------------------------


@pytest.mark.parametrize("form", sorted(DEMO_FORMS), ids="-".join)
def test_flush_decides_only_what_the_stream_has_not(
    form: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The result comes from the decisions the stream carried: flush decides
    # only the mentions no re-link has decided for good, never the whole
    # answer again.
    decided = 0
    original = _linker._Run._one

    def counting(run: Any, hit: Any, lang: str) -> Any:
        nonlocal decided
        decided += 1
        return original(run, hit, lang)

    monkeypatch.setattr(_linker._Run, "_one", counting)
    linker = DEMO_FORMS[form]
    carried_some = False
    for a in ANSWERS:
        text = answer_in(form[1], a)
        stream = linker.streamer(a.query, now=NOW, context=CONTEXT)
        for chunk in cut(text, range(0, len(text), 16)):
            stream.feed(chunk)
        carry = stream._carry
        carried = len(carry.hits) if carry is not None else 0
        carried_some = carried_some or carried > 0
        decided = 0
        stream.flush()
        at_flush = decided
        whole = linker.link(text, a.query, now=NOW, context=CONTEXT)
        assert stream.result == whole
        assert at_flush == len(whole.links) + len(whole.skipped) - carried, a.id
    assert carried_some


def _lines(text: str) -> Iterable[str]:
    return text.splitlines(keepends=True)
