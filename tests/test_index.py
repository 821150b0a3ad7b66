"""The product index: building, the compiled index file, sharing between threads."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import attrs
import pytest

import shoplink
from shoplink import Catalog, IndexFileError, Linker, ProductIndex, ShoplinkError
from shoplink._index import FORMAT_VERSION, catalog_fingerprint
from shoplink._matcher import available_backends


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return shoplink.demo_catalog()


@pytest.fixture(scope="module")
def answers() -> list[str]:
    return [a.answer for a in shoplink.demo_answers()]


def _same(a: ProductIndex, b: ProductIndex, texts: list[str]) -> None:
    assert a.matcher.keywords == b.matcher.keywords
    for text in texts:
        hits = a.find(text)
        assert hits == b.find(text)
        for hit in hits:
            assert a.products(hit.key) == b.products(hit.key)
            assert a.profiles(hit.key) == b.profiles(hit.key)


def test_products_under_a_key_are_by_id_once_each(catalog: Catalog) -> None:
    index = ProductIndex(catalog)
    for key in range(len(index.matcher)):
        ids = [p.id for p in index.products(key)]
        assert ids == sorted(set(ids))
        assert ids
        assert [p.product_id for p in index.profiles(key)] == ids
        for product in index.products(key):
            assert index.keyword(key) in set(index.matcher.fold_keywords(product.keywords))


def test_progress_is_reported(catalog: Catalog) -> None:
    seen: list[tuple[str, int, int]] = []
    ProductIndex(catalog, progress=lambda *a: seen.append(a))
    assert ("keywords", len(catalog), len(catalog)) in seen
    assert seen[-1] == ("automaton", 1, 1)


@pytest.mark.parametrize("backend", available_backends())
def test_save_and_load_round_trip(
    catalog: Catalog, answers: list[str], tmp_path: Path, backend: str
) -> None:
    index = ProductIndex(catalog, backend=backend)
    path = tmp_path / "demo.idx"
    index.save(path)
    loaded = ProductIndex.load(path, catalog)
    assert loaded.backend == backend
    _same(index, loaded, answers)
    for other in available_backends():
        _same(index, ProductIndex.load(path, catalog, backend=other), answers)
    buffer = io.BytesIO()
    index.save(buffer)
    buffer.seek(0)
    _same(index, ProductIndex.load(buffer, catalog), answers)


def test_linker_takes_an_index_file_or_object(
    catalog: Catalog, answers: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "demo.idx"
    ProductIndex(catalog).save(path)
    built = Linker(catalog)
    for index in (path, str(path), ProductIndex.load(path, catalog)):
        linker = Linker(catalog, index=index)
        assert [linker.link(a).text for a in answers] == [built.link(a).text for a in answers]
    with pytest.raises(shoplink.ConfigError):
        Linker(catalog, index=ProductIndex(shoplink.demo_catalog()))


def _saved(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    ProductIndex(catalog).save(buffer)
    return buffer.getvalue()


def _load(data: bytes, catalog: Catalog) -> ProductIndex:
    return ProductIndex.load(io.BytesIO(data), catalog)


def test_index_of_another_catalog_is_refused(catalog: Catalog) -> None:
    data = _saved(catalog)
    first = catalog.products[0]
    renamed = attrs.evolve(first, keywords=(*first.keywords, "全新关键词"))
    other = Catalog.build((renamed, *catalog.products[1:]), merchants=catalog.merchants.values())
    assert catalog_fingerprint(other) != catalog_fingerprint(catalog)
    with pytest.raises(IndexFileError, match="another catalog"):
        _load(data, other)
    # Titles, prices and stock are read from the catalog: they may change.
    retitled = attrs.evolve(first, title="new title")
    same = Catalog.build((retitled, *catalog.products[1:]), merchants=catalog.merchants.values())
    assert _load(data, same).products(0)


def _with_header(data: bytes, **changes: object) -> bytes:
    magic, header, payload = data.split(b"\n", 2)
    fields = json.loads(header)
    fields.update(changes)
    return magic + b"\n" + json.dumps(fields).encode() + b"\n" + payload


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: b"", "not a shoplink index"),
        (lambda d: b"PK\x03\x04" + d, "not a shoplink index"),
        (lambda d: d[:-10], "truncated"),
        (lambda d: d[:20], "header"),
        (lambda d: d[:-5] + bytes([d[-5] ^ 1]) + d[-4:], "checksum"),
        (lambda d: d + b"\x00", "truncated"),
        (lambda d: _with_header(d, format=FORMAT_VERSION + 1), "format"),
        (lambda d: _with_header(d, format="1"), "header"),
        (lambda d: _with_header(d, payload_sha256=None), "payload_sha256"),
    ],
)
def test_damaged_files_give_a_clear_error(
    catalog: Catalog, damage: object, message: str, tmp_path: Path
) -> None:
    data = damage(_saved(catalog))  # type: ignore[operator]
    path = tmp_path / "bad.idx"
    path.write_bytes(data)
    with pytest.raises(IndexFileError, match=message) as excinfo:
        ProductIndex.load(path, catalog)
    assert isinstance(excinfo.value, ShoplinkError)
    assert isinstance(excinfo.value, ValueError)
    assert str(path) in str(excinfo.value)


def test_checksummed_but_broken_payload_is_an_index_file_error(catalog: Catalog) -> None:
    import hashlib

    payload = b"not a pickle"
    data = _with_header(
        _saved(catalog).split(b"\n", 2)[0] + b"\n{}\n",
        format=FORMAT_VERSION,
        fingerprint=catalog_fingerprint(catalog),
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        payload_size=len(payload),
    )
    with pytest.raises(IndexFileError, match="corrupt payload"):
        _load(data + payload, catalog)


def test_many_threads_share_one_linker(catalog: Catalog, answers: list[str]) -> None:
    linker = Linker(catalog)
    queries = [a.query for a in shoplink.demo_answers()]
    expected = [linker.link(a, q).to_dict() for a, q in zip(answers, queries, strict=True)]
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def work(offset: int) -> None:
        try:
            start.wait()
            for round_ in range(5):
                for i in range(len(answers)):
                    j = (i + offset + round_) % len(answers)
                    assert linker.link(answers[j], queries[j]).to_dict() == expected[j]
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


def _cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "shoplink", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def _catalog_file(tmp_path: Path, keyword: str) -> Path:
    row = {
        "id": "c1",
        "merchant": "jd",
        "title": "CeraVe Hydrating Cream",
        "url": "https://item.jd.com/c1.html",
        "keywords": [keyword],
    }
    path = tmp_path / f"{keyword}.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return path


def test_cli_index_build_then_link(tmp_path: Path) -> None:
    catalog = _catalog_file(tmp_path, "CeraVe cream")
    index = tmp_path / "c.idx"
    proc = _cli("index", "build", "--catalog", str(catalog), "-o", str(index))
    assert proc.returncode == 0, proc.stderr
    assert b"indexed 1 keywords of 1 products" in proc.stderr
    answer = b"Try CeraVe cream at night."
    linked = _cli("link", "--catalog", str(catalog), "--index", str(index), stdin=answer)
    plain = _cli("link", "--catalog", str(catalog), stdin=answer)
    assert linked.returncode == 0, linked.stderr
    assert linked.stdout == plain.stdout
    assert b"](https://item.jd.com/c1.html)" in linked.stdout


def test_cli_refuses_an_index_of_another_catalog(tmp_path: Path) -> None:
    index = tmp_path / "c.idx"
    built = _cli(
        "index",
        "build",
        "--catalog",
        str(_catalog_file(tmp_path, "CeraVe cream")),
        "-o",
        str(index),
    )
    assert built.returncode == 0, built.stderr
    other = _catalog_file(tmp_path, "CeraVe lotion")
    proc = _cli("link", "--catalog", str(other), "--index", str(index), stdin=b"CeraVe lotion")
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == (
        f"{index}: built from another catalog (product ids or keywords differ); "
        "rebuild it with `shoplink index build`"
    )
    assert proc.stdout == b""
