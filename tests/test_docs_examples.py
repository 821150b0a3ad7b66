"""Every Python example in the README and ``docs/`` runs, and does what its text says.

A newcomer copies these blocks first. Each one is executed as written, in a
temporary directory holding the files it names (made from ``seeds/`` and
``tests/data/``), with the names it leaves to the reader (``answer``,
``chunks``, ``send``, ...) bound to real values, and the client libraries it
imports (openai, anthropic, fastapi, pydantic) replaced by small fakes that
produce chunks shaped like theirs. Then its outcome is checked.

A new block in a document fails ``test_every_block_has_a_check`` until it is
given a check here.
"""

from __future__ import annotations

import ast
import asyncio
import csv
import io
import json
import re
import shutil
import sys
import types
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import shoplink

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

QUERY = "敏感肌适合用什么样的面膜"


def python_blocks() -> dict[str, str]:
    """``"docs/x.md #n"`` -> the source of the n-th (1-based) Python block."""
    out = {}
    for document in DOCUMENTS:
        name = document.relative_to(ROOT).as_posix()
        for number, match in enumerate(_BLOCK.finditer(document.read_text("utf-8")), start=1):
            out[f"{name} #{number}"] = match.group(1)
    return out


def run_block(source: str, name: str, namespace: dict[str, Any]) -> str:
    """Execute ``source`` (top-level ``await`` allowed); what it printed."""
    code = compile(source, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    printed = io.StringIO()
    with redirect_stdout(printed):
        outcome = eval(code, namespace)  # our own documents; a coroutine if it awaits
        if asyncio.iscoroutine(outcome):
            asyncio.run(outcome)
    return printed.getvalue()


def demo_answer() -> str:
    """A demo answer that names products under the query above."""
    for sample in shoplink.demo_answers():
        if sample.query == QUERY:
            return sample.answer
    raise AssertionError(f"no demo answer for {QUERY}")


def pieces(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


async def aiterate(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        await asyncio.sleep(0)
        yield item


def ns(**names: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(**names)


# ----------------------------------------------------------------- client fakes


def openai_chunks(text: str) -> list[Any]:
    """Chat Completions chunks as the SDK yields them: a role chunk, deltas, a usage chunk."""
    first = ns(choices=[ns(index=0, delta=ns(content="", role="assistant"))])
    deltas = [ns(choices=[ns(index=0, delta=ns(content=part, role=None))]) for part in pieces(text)]
    last = ns(choices=[ns(index=0, delta=ns(content=None, role=None))])
    usage = ns(choices=[], usage=ns(total_tokens=1))
    return [first, *deltas, last, usage]


def anthropic_events(text: str) -> list[Any]:
    """Messages stream events: start, text deltas, stop."""
    deltas = [
        ns(type="content_block_delta", index=0, delta=ns(type="text_delta", text=part))
        for part in pieces(text)
    ]
    return [
        ns(type="message_start", message=ns(id="msg_1")),
        ns(type="content_block_start", index=0, content_block=ns(type="text", text="")),
        *deltas,
        ns(type="content_block_stop", index=0),
        ns(type="message_delta", delta=ns(stop_reason="end_turn")),
        ns(type="message_stop"),
    ]


def fake_modules(monkeypatch: pytest.MonkeyPatch, answer: str) -> dict[str, Any]:
    """Fake ``openai``, ``anthropic``, ``fastapi`` and ``pydantic``; what they saw."""
    seen: dict[str, Any] = {}

    def create(**kwargs: Any) -> list[Any]:
        seen["openai"] = kwargs
        assert kwargs["stream"] is True
        return openai_chunks(answer)

    async def acreate(**kwargs: Any) -> AsyncIterator[Any]:
        seen["openai"] = kwargs
        assert kwargs["stream"] is True
        return aiterate(openai_chunks(answer))

    def messages_create(**kwargs: Any) -> list[Any]:
        seen["anthropic"] = kwargs
        assert kwargs["stream"] is True
        return anthropic_events(answer)

    openai = types.ModuleType("openai")
    openai.OpenAI = lambda: ns(chat=ns(completions=ns(create=create)))  # type: ignore[attr-defined]
    openai.AsyncOpenAI = lambda: ns(chat=ns(completions=ns(create=acreate)))  # type: ignore[attr-defined]
    anthropic = types.ModuleType("anthropic")
    anthropic.Anthropic = lambda: ns(messages=ns(create=messages_create))  # type: ignore[attr-defined]

    class FastAPI:
        def __init__(self) -> None:
            self.routes: dict[str, Callable[..., Any]] = {}

        def post(self, path: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
            def register(handler: Callable[..., Any]) -> Callable[..., Any]:
                self.routes[path] = handler
                return handler

            return register

    class StreamingResponse:
        def __init__(self, body: AsyncIterator[str], media_type: str) -> None:
            self.body = body
            self.media_type = media_type

    class BaseModel:
        def __init__(self, **fields: Any) -> None:
            for key, value in fields.items():
                setattr(self, key, value)

    fastapi = types.ModuleType("fastapi")
    fastapi.FastAPI = FastAPI  # type: ignore[attr-defined]
    responses = types.ModuleType("fastapi.responses")
    responses.StreamingResponse = StreamingResponse  # type: ignore[attr-defined]
    fastapi.responses = responses  # type: ignore[attr-defined]
    pydantic = types.ModuleType("pydantic")
    pydantic.BaseModel = BaseModel  # type: ignore[attr-defined]
    for name, module in [
        ("openai", openai),
        ("anthropic", anthropic),
        ("fastapi", fastapi),
        ("fastapi.responses", responses),
        ("pydantic", pydantic),
    ]:
        monkeypatch.setitem(sys.modules, name, module)
    return seen


# ----------------------------------------------------------------- files the examples name


def shoplink_jsonl(path: Path) -> None:
    """The house shop's seed file, which is shoplink's own JSON Lines format."""
    shutil.copy(SEEDS / "catalog" / "douyin.jsonl", path)


def shoplink_csv_with_a_bad_row(path: Path) -> None:
    """A CSV catalog in shoplink's format, its third data row (line 4) a ``javascript:`` URL."""
    lines = (SEEDS / "catalog" / "douyin.jsonl").read_text("utf-8").splitlines()
    rows = [json.loads(line) for line in lines[:4]]
    rows[2]["url"] = "javascript:alert(1)"
    fields = ["id", "merchant", "title", "url", "keywords"]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(fields)
        for row in rows:
            writer.writerow([*(row[k] for k in fields[:4]), "|".join(row["keywords"])])


def xlsx_from_csv(source: Path, target: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    with source.open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            sheet.append(row)
    book.save(target)


def recode(source: Path, target: Path, encoding: str) -> None:
    target.write_bytes(source.read_text("utf-8").encode(encoding))


def rehost(source: Path, target: Path, old: str, new: str) -> None:
    """A copy of a feed whose product and image URLs sit on the host the example declares."""
    text = source.read_text("utf-8")
    assert old in text
    target.write_text(text.replace(old, new), "utf-8")


DEWU_CSV = """spuId,name,link,names
1001,Nike Air Zoom Pegasus 41 男子跑步鞋,https://www.dewu.com/product/1001,Nike Pegasus 41/飞马41
1002,Bad link,javascript:alert(1),坏链接
"""


# ----------------------------------------------------------------- one check per block


def check_readme_1(source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shoplink_jsonl(tmp_path / "catalog.jsonl")
    answer = demo_answer()
    sent: list[str] = []
    chunks = pieces(answer)
    namespace = {"answer": answer, "chunks": chunks, "send": sent.append}
    run_block(source, name, namespace)
    result = namespace["result"]
    assert result.links, "the README's example links nothing"
    assert all(link.merchant == "douyin" for link in result.links)
    assert result.text != answer
    whole = namespace["linker"].link(answer, query="...").text
    assert "".join(sent) == whole


def check_catalog_1(
    source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shoplink_jsonl(tmp_path / "catalog.jsonl")
    shoplink_csv_with_a_bad_row(tmp_path / "catalog.csv")
    namespace = {"shoplink": shoplink}
    printed = run_block(source, name, namespace)
    catalog = namespace["catalog"]
    assert len(catalog.products) == 3
    # The bad row, by path, line and field, then why.
    path, line, field, reason = printed.rstrip("\n").split(" ", 3)
    assert (path, line, field) == ("catalog.csv", "4", "url")
    assert "javascript" in reason


def check_forms_1(source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import markdown_it

    answer_html = markdown_it.MarkdownIt("commonmark").enable("table").render(demo_answer())
    namespace = {"shoplink": shoplink, "catalog": shoplink.demo_catalog(), "answer_html": answer_html}
    run_block(source, name, namespace)
    result, page = namespace["result"], namespace["page"]
    assert result.links and all(link.card_at is not None for link in result.links)
    assert page.startswith("<style>") and ".shoplink-card" in page
    assert page.count('rel="sponsored') >= len(result.links)
    assert "广告" in page


def check_merchants_1(
    source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(SEEDS / "catalog" / "douyin.jsonl", tmp_path / "douyin.jsonl")
    xlsx_from_csv(SEEDS / "catalog" / "taobao.csv", tmp_path / "taobao.xlsx")
    shutil.copy(SEEDS / "catalog" / "taobao.sidecar.jsonl", tmp_path / "taobao.sidecar.jsonl")
    recode(SEEDS / "catalog" / "jd.csv", tmp_path / "jd.csv", "gb18030")
    rehost(DATA / "merchants" / "acp.json", tmp_path / "feed.json", "shop.example.com", "acme.example")
    shutil.copy(DATA / "merchants" / "google.xml", tmp_path / "feed.xml")
    namespace: dict[str, Any] = {}
    printed = run_block(source, name, namespace)
    catalog = namespace["catalog"]
    assert printed == "", f"the example's files should load cleanly, got:\n{printed}"
    assert not catalog.failures and not catalog.rejected
    merchants = {product.merchant for product in catalog.products}
    assert merchants == {"douyin", "taobao", "jd", "acme", "outdoor"}


def check_merchants_2(
    source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dewu.csv").write_text(DEWU_CSV, "utf-8")
    namespace: dict[str, Any] = {}
    run_block(source, name, namespace)
    adapter = namespace["DewuExport"]("dewu.csv")
    catalog = shoplink.Catalog.from_merchants([adapter], strict=False)
    assert [p.id for p in catalog.products] == ["dw-1001"]
    [bad] = catalog.rejected
    assert str(bad).startswith("dewu:3: url: URL must be http(s)")
    result = shoplink.Linker(catalog).link(
        "跑步入门可以看看 Nike Pegasus 41，缓震不错。",
        query="跑鞋推荐",
        context=shoplink.LinkContext(answer_id="a-42"),
    )
    [link] = result.links
    assert parse_qs(urlsplit(link.url).query)["sub"] == ["a-42"]


def check_merchants_3(
    source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = shoplink.demo_catalog()
    rows = [
        {"id": p.id, "merchant": p.merchant, "title": p.title, "url": p.url, "keywords": list(p.keywords)}
        for p in demo.products
        if p.merchant in ("jd", "taobao") and p.keywords[0] in ("罗技K120", "Nike Pegasus 41")
    ]
    assert {r["merchant"] for r in rows} == {"jd", "taobao"}
    (tmp_path / "catalog.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8"
    )
    namespace: dict[str, Any] = {}
    run_block(source, name, namespace)
    catalog = namespace["catalog"]
    context = shoplink.LinkContext(conversation_id="c-7", position=2)
    for row in rows:
        url = catalog.link_url(catalog[row["id"]], context)
        tracked = parse_qs(urlsplit(url).query).get("subUnionId")
        assert tracked == (["c-7_2"] if row["merchant"] == "jd" else None), url


def check_performance_1(
    source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shoplink_jsonl(tmp_path / "catalog.jsonl")
    catalog = shoplink.load_catalog(tmp_path / "catalog.jsonl")
    shoplink.ProductIndex(catalog).save(tmp_path / "catalog.idx")
    namespace = {"shoplink": shoplink}
    run_block(source, name, namespace)
    assert namespace["linker"].link(demo_answer(), query=QUERY).links


def check_streaming_1(
    source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = demo_answer()
    sent: list[str] = []

    # The block calls ``send(piece)`` and ``await send(piece)``: one callable
    # serves both, returning an awaitable that is harmless to drop.
    class Done:
        def __await__(self) -> Iterator[None]:
            return iter(())

    class Send:
        def __call__(self, piece: str) -> Done:
            sent.append(piece)
            return Done()

    namespace = {
        "chunks": pieces(answer),
        "async_chunks": aiterate(pieces(answer, 5)),
        "query": QUERY,
        "send": Send(),
    }
    run_block(source, name, namespace)
    whole = shoplink.Linker(shoplink.demo_catalog()).link(answer, query=QUERY).text
    # pull, async and push: the same answer three times over.
    assert "".join(sent) == whole * 3


def _client_check(module: str) -> Callable[..., None]:
    def check(source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        answer = demo_answer()
        seen = fake_modules(monkeypatch, answer)
        linker = shoplink.Linker(shoplink.demo_catalog())
        namespace = {
            "shoplink": shoplink,
            "linker": linker,
            "question": QUERY,
            "model": "some-model",
            "messages": [{"role": "user", "content": QUERY}],
        }
        printed = run_block(source, name, namespace)
        assert module in seen
        assert printed == linker.link(answer, query=QUERY).text

    return check


def check_streaming_2(
    source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = demo_answer()
    sent: list[str] = []
    receipts: list[dict[str, Any]] = []

    class Done:  # ``send`` is called plain and awaited, as in check_streaming_1
        def __await__(self) -> Iterator[None]:
            return iter(())

    def send(piece: str) -> Done:
        sent.append(piece)
        return Done()

    namespace = {
        "chunks": pieces(answer),
        "async_chunks": aiterate(pieces(answer, 5)),
        "query": QUERY,
        "send": send,
        "save_receipt": receipts.append,
        "answer_id": "a-1",
        "conversation_id": "c-9",
    }
    run_block(source, name, namespace)
    context = shoplink.LinkContext(answer_id="a-1", conversation_id="c-9")
    whole = shoplink.Linker(shoplink.demo_catalog()).link(answer, query=QUERY, context=context)
    # pull, async and push: the same answer and the same receipt three times over.
    assert "".join(sent) == whole.text * 3
    assert receipts == [whole.to_dict()] * 3
    assert whole.links and whole.skipped


def check_streaming_5(
    source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shoplink_jsonl(tmp_path / "catalog.jsonl")
    answer = demo_answer()
    seen = fake_modules(monkeypatch, answer)
    namespace: dict[str, Any] = {}
    run_block(source, name, namespace)
    handler = namespace["app"].routes["/answer"]

    async def call() -> tuple[Any, str]:
        response = await handler(namespace["Question"](question=QUERY))
        return response, "".join([piece async for piece in response.body])

    response, body = asyncio.run(call())
    assert seen["openai"]["messages"] == [{"role": "user", "content": QUERY}]
    assert response.media_type.startswith("text/markdown")
    assert body == namespace["linker"].link(answer, query=QUERY).text
    assert "（广告）" in body


def check_streaming_6(
    source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = demo_answer()
    linker = shoplink.Linker(shoplink.demo_catalog())
    sent: list[str] = []

    async def send(piece: str) -> None:
        assert piece, "the example sends no empty frames"
        sent.append(piece)

    namespace = {"linker": linker, "question": QUERY, "sse": ns(send=send)}
    run_block(source, name, namespace)

    async def drive() -> None:
        for delta in pieces(answer, 3):
            await namespace["on_delta"](delta)
        await namespace["on_done"]()

    asyncio.run(drive())
    assert "".join(sent) == linker.link(answer, query=QUERY).text


def check_safety_1(source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    namespace: dict[str, Any] = {}
    printed = run_block(source, name, namespace)
    assert printed == (
        "() self_harm: 'self-harm/intent (moderation flag)' in the moderation verdict"
        " (judge moderation)\n"
    )
    # Without the upstream verdict the same conversation links.
    plain = namespace["linker"].link("可以试试理肤泉B5修复面膜。", query="推荐个面膜")
    assert plain.links and not plain.verdicts


def check_safety_2(source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    namespace: dict[str, Any] = {}
    printed = run_block(source, name, namespace)
    assert printed == "gambling: 'classifier score 0.93' in the query (judge guard-v2)\n"
    linker = namespace["linker"]
    # The built-in judge still judges beside the user's.
    assert linker.link("理肤泉B5修复面膜很好用。", query="我想死").verdicts[0].category == "self_harm"
    assert linker.link("理肤泉B5修复面膜很好用。", query="敏感肌面膜").links


def check_safety_3(source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    namespace: dict[str, Any] = {}
    printed = run_block(source, name, namespace)
    assert printed == "medical: '布洛芬' in the answer at 8\n"
    # extend() returned new gates; the built-in ones are unchanged.
    medical = next(g for g in shoplink.default_gates() if g.name == "medical")
    assert "布洛芬" not in medical.terms
    assert any("布洛芬" in g.terms for g in namespace["linker"].gates)
    plain = shoplink.Linker(shoplink.demo_catalog()).link("头疼可以吃布洛芬，跑步时穿 ASICS GEL-Kayano 31 更稳。")
    assert plain.links and not plain.skipped


CHECKS: dict[str, Callable[[str, str, Path, pytest.MonkeyPatch], None]] = {
    "README.md #1": check_readme_1,
    "docs/catalog.md #1": check_catalog_1,
    "docs/forms.md #1": check_forms_1,
    "docs/merchants.md #1": check_merchants_1,
    "docs/merchants.md #2": check_merchants_2,
    "docs/merchants.md #3": check_merchants_3,
    "docs/performance.md #1": check_performance_1,
    "docs/safety.md #1": check_safety_1,
    "docs/safety.md #2": check_safety_2,
    "docs/safety.md #3": check_safety_3,
    "docs/streaming.md #1": check_streaming_1,
    "docs/streaming.md #2": check_streaming_2,
    "docs/streaming.md #3": _client_check("openai"),
    "docs/streaming.md #4": _client_check("anthropic"),
    "docs/streaming.md #5": check_streaming_5,
    "docs/streaming.md #6": check_streaming_6,
}


def test_every_block_has_a_check() -> None:
    assert sorted(python_blocks()) == sorted(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_runs(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks()
    if name not in blocks:
        pytest.fail(f"{name} is gone from the documents; remove its check")
    monkeypatch.chdir(tmp_path)
    CHECKS[name](blocks[name], name, tmp_path, monkeypatch)
