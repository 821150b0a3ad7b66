"""The product index: building, the compiled index file, sharing between threads."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import shoplink
from shoplink import (
    Catalog,
    IndexFileError,
    Linker,
    Merchant,
    Product,
    ProductIndex,
    ShoplinkError,
    _index,
    _matcher,
)
from shoplink._index import FORMAT_VERSION, catalog_fingerprint
from shoplink._matcher import available_backends


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return shoplink.demo_catalog()


@pytest.fixture(scope="module")
def answers() -> list[str]:
    return [a.answer for a in shoplink.demo_answers()]


def _same(a: ProductIndex, b: ProductIndex, texts: list[str]) -> None:
    assert len(a.matcher) == len(b.matcher)
    assert [a.keyword(k) for k in range(len(a.matcher))] == [
        b.keyword(k) for k in range(len(b.matcher))
    ]
    assert a.matcher.keywords == b.matcher.keywords
    assert a.matcher.longest == b.matcher.longest
    for text in texts:
        hits = a.find(text)
        assert hits == b.find(text)
        assert a.matcher.find_candidates(text) == b.matcher.find_candidates(text)
        for hit in hits:
            assert a.keyword(hit.key) == b.keyword(hit.key)
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
    # The file holds a pyahocorasick automaton whichever backend built it,
    # and the default load restores it rather than rebuild another.
    assert loaded.backend == "pyahocorasick"
    _same(index, loaded, answers)
    for other in available_backends():
        onto = ProductIndex.load(path, catalog, backend=other)
        assert onto.backend == other
        _same(index, onto, answers)
    buffer = io.BytesIO()
    index.save(buffer)
    assert buffer.getvalue().startswith(b"SHOPLINK-INDEX\n")
    buffer.seek(0)
    _same(index, ProductIndex.load(buffer, catalog), answers)
    # What was loaded saves to a file that loads the same again.
    again = io.BytesIO()
    loaded.save(again)
    again.seek(0)
    _same(index, ProductIndex.load(again, catalog), answers)


def test_loading_decodes_no_keyword_until_asked(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "demo.idx"
    built = ProductIndex(catalog)
    built.save(path)
    loaded = ProductIndex.load(path, catalog)
    assert loaded.matcher._keywords is None  # one UTF-8 block, not a str per keyword
    assert loaded.keyword(3) == built.keyword(3)
    assert loaded.matcher.longest == max(map(len, built.matcher.keywords))
    assert loaded.matcher._keywords is None
    assert loaded.matcher.keywords == built.matcher.keywords
    assert loaded.matcher.key_of(built.keyword(5)) == 5
    with pytest.raises(IndexError):
        loaded.keyword(len(built.matcher))


def test_a_loaded_index_pickles(catalog: Catalog, answers: list[str], tmp_path: Path) -> None:
    path = tmp_path / "demo.idx"
    built = ProductIndex(catalog)
    built.save(path)
    matcher = ProductIndex.load(path, catalog).matcher
    clone = pickle.loads(pickle.dumps(matcher))
    for answer in answers:
        assert clone.find(answer) == built.find(answer)


def _small_catalog(keywords: list[list[str]]) -> Catalog:
    merchant = Merchant("shop", "Shop", domains=("shop.example",))
    return Catalog.build(
        (
            Product(
                id=f"p{i:03}",
                merchant="shop",
                title=f"Product {i}",
                url=f"https://shop.example/{i}",
                keywords=tuple(names),
            )
            for i, names in enumerate(keywords)
        ),
        merchants=[merchant],
    )


_KEYWORD = st.text(
    st.sampled_from(list("ab ßİﬁ面膜手机壳-1")) | st.characters(exclude_categories=()),
    min_size=1,
    max_size=6,
).filter(lambda k: bool(k.strip()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    keywords=st.lists(st.lists(_KEYWORD, min_size=1, max_size=3), min_size=0, max_size=12),
    texts=st.lists(
        st.text(st.sampled_from(list("ab ßİﬁ面膜手机壳-1xSS")), max_size=40), max_size=4
    ),
    backend=st.sampled_from(available_backends()),
)
def test_a_loaded_index_finds_exactly_what_the_built_one_finds(
    keywords: list[list[str]], texts: list[str], backend: str
) -> None:
    catalog = _small_catalog(keywords)
    try:
        built = ProductIndex(catalog, backend=backend)
    except ValueError:  # a keyword that folds to blank
        assume(False)
        raise
    texts = [*texts, *(k for names in keywords for k in names)]
    buffer = io.BytesIO()
    built.save(buffer)
    for onto in ("auto", *available_backends()):
        buffer.seek(0)
        _same(built, ProductIndex.load(buffer, catalog, backend=onto), texts)


def test_an_empty_catalog_saves_and_loads(tmp_path: Path) -> None:
    catalog = _small_catalog([])
    path = tmp_path / "empty.idx"
    ProductIndex(catalog).save(path)
    loaded = ProductIndex.load(path, catalog)
    assert len(loaded.matcher) == 0
    assert loaded.find("anything") == []
    assert loaded.matcher.longest == 0


def test_an_index_loads_from_a_pipe(catalog: Catalog, answers: list[str]) -> None:
    data = _saved(catalog)
    read, write = os.pipe()

    def feed() -> None:
        with os.fdopen(write, "wb") as out:
            out.write(data)

    feeder = threading.Thread(target=feed)
    feeder.start()
    with os.fdopen(read, "rb") as handle:
        loaded = ProductIndex.load(handle, catalog)
    feeder.join()
    _same(ProductIndex(catalog), loaded, answers)


def test_an_automaton_from_another_pyahocorasick_is_rebuilt_with_a_warning(
    catalog: Catalog, answers: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "demo.idx"
    built = ProductIndex(catalog)
    built.save(path)
    # As if pyahocorasick had been upgraded since the file was written: its
    # node tables are raw C structs of one build, and must not be restored.
    monkeypatch.setattr(_matcher, "automaton_build", lambda: "another build")
    with pytest.warns(RuntimeWarning, match="another build of pyahocorasick"):
        loaded = ProductIndex.load(path, catalog)
    assert loaded.backend == "pyahocorasick"
    _same(built, loaded, answers)


def test_an_unknown_backend_is_refused_before_reading(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="unknown matcher backend"):
        ProductIndex.load(io.BytesIO(b"not even an index"), catalog, backend="regex")


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


def _split(data: bytes) -> tuple[bytes, dict[str, object], bytes]:
    magic, header, payload = data.split(b"\n", 2)
    return magic + b"\n", json.loads(header), payload


def _join(magic: bytes, fields: dict[str, object], payload: bytes, *, sign: bool) -> bytes:
    if sign:  # a header that passes its own checksum
        fields = {k: v for k, v in fields.items() if k != "sha256"}
        canonical = json.dumps(fields, sort_keys=True).encode()
        fields["sha256"] = hashlib.sha256(canonical).hexdigest()
    return magic + json.dumps(fields).encode() + b"\n" + payload


def _with_header(data: bytes, *, sign: bool = False, **changes: object) -> bytes:
    magic, fields, payload = _split(data)
    fields.update(changes)
    return _join(magic, fields, payload, sign=sign)


def _section_at(data: bytes, number: int) -> int:
    """Where section ``number`` starts in a saved index."""
    magic, fields, _ = _split(data)
    head = data.index(b"\n", len(magic)) + 1
    sizes = [size for _, size, _ in fields["sections"]]  # type: ignore[attr-defined]
    return head + sum(sizes[:number])


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def _restamped(data: bytes, number: int, content: bytes) -> bytes:
    """Section ``number`` replaced by ``content``, with checksums that match it."""
    magic, fields, _ = _split(data)
    sections = fields["sections"]
    assert isinstance(sections, list)
    start = _section_at(data, number)
    end = start + sections[number][1]
    sections[number] = [sections[number][0], len(content), hashlib.sha256(content).hexdigest()]
    payload = data[data.index(b"\n", len(magic)) + 1 :]
    head_size = len(data) - len(payload)
    payload = payload[: start - head_size] + content + payload[end - head_size :]
    return _join(magic, fields, payload, sign=True)


def _last_byte_flipped(d: bytes) -> bytes:
    return _flip(d, len(d) - 5)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: b"", "not a shoplink index"),
        (lambda d: b"PK\x03\x04" + d, "not a shoplink index"),
        (lambda d: d[:-10], "truncated"),
        (lambda d: d[:20], "header"),
        (lambda d: d[: d.index(b"\n", 20) + 100], "truncated"),
        (_last_byte_flipped, r"section \d+ \(automaton\) fails its checksum"),
        (lambda d: _flip(d, _section_at(d, 0) + 2), r"section 0 \(keywords\) fails its checksum"),
        (lambda d: _flip(d, _section_at(d, 5) + 1), r"owner_members\) fails its checksum"),
        (lambda d: d + b"\x00", "after the last section"),
        (lambda d: _with_header(d, format=FORMAT_VERSION + 1), "format"),
        (lambda d: _with_header(d, format="1"), "header"),
        (lambda d: _with_header(d, sha256=None), "lacks sha256"),
        (lambda d: _with_header(d, keywords=1), "header checksum mismatch"),
        (lambda d: _with_header(d, sections=[["keywords", 1]], sign=True), "section list"),
        (lambda d: _with_header(d, sections=[], sign=True), "section list"),
        (lambda d: _with_header(d, automaton=None, sign=True), "automaton and keywords disagree"),
        (
            lambda d: _with_header(
                d, byteorder="big" if sys.byteorder == "little" else "little", sign=True
            ),
            "endian machine.*rebuild",
        ),
        (lambda d: _restamped(d, 1, b"\x00" * 8), "corrupt payload"),
        (lambda d: _restamped(d, 2, b"\x00" * 3), "corrupt payload"),
        (lambda d: _restamped(d, 4, b"\x00" * 8), "corrupt payload"),
        (lambda d: _restamped(d, 6, b"\x01" + b"\x00" * 7 + b"not node tables"), "corrupt payload"),
        (lambda d: _with_header(d, products=1, sign=True), "corrupt payload"),
    ],
)
@pytest.mark.parametrize("threaded", [False, True], ids=["one-thread", "two-threads"])
def test_damaged_files_give_a_clear_error(
    catalog: Catalog,
    damage: Callable[[bytes], bytes],
    message: str,
    tmp_path: Path,
    threaded: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The demo index is small: read on the calling thread alone unless told.
    monkeypatch.setattr(_index, "_THREADED_FROM", 0 if threaded else 1 << 62)
    data = damage(_saved(catalog))
    path = tmp_path / "bad.idx"
    path.write_bytes(data)
    with pytest.raises(IndexFileError, match=message) as excinfo:
        ProductIndex.load(path, catalog)
    assert isinstance(excinfo.value, ShoplinkError)
    assert isinstance(excinfo.value, ValueError)
    assert str(path) in str(excinfo.value)
    # A file object is not sized up front: damage is found while reading.
    with pytest.raises(IndexFileError, match=message):
        _load(data, catalog)


@pytest.fixture
def threaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files on disk of any size are read on two threads."""
    monkeypatch.setattr(_index, "_THREADED_FROM", 0)


def _on_disk(data: bytes, tmp_path: Path) -> Path:
    path = tmp_path / "demo.idx"
    path.write_bytes(data)
    return path


def test_the_first_bad_section_in_file_order_is_named(
    catalog: Catalog, tmp_path: Path, threaded: None
) -> None:
    data = _saved(catalog)
    # The last section is damaged too, and another thread may check it first.
    data = _last_byte_flipped(_flip(data, _section_at(data, 2) + 3))
    for _ in range(5):
        with pytest.raises(IndexFileError, match=r"section 2 \(keyword_lengths\) fails"):
            ProductIndex.load(_on_disk(data, tmp_path), catalog)


def test_another_catalog_is_refused_while_sections_are_read(
    catalog: Catalog, tmp_path: Path, threaded: None
) -> None:
    path = _on_disk(_saved(catalog), tmp_path)
    other = Catalog.build(catalog.products[1:], merchants=catalog.merchants.values())
    before = threading.active_count()
    with pytest.raises(IndexFileError, match="another catalog"):
        ProductIndex.load(path, other)
    assert threading.active_count() == before  # the reading thread was stopped and joined


def test_a_file_that_shrinks_while_loading_is_truncated(
    catalog: Catalog, tmp_path: Path, threaded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The size was checked up front; the file is cut after that, as if another
    # process truncated it in place: pread comes back short.
    path = _on_disk(_saved(catalog), tmp_path)
    real = os.pread
    cut = _section_at(path.read_bytes(), 6) + 10

    def pread(fd: int, size: int, offset: int) -> bytes:
        return real(fd, max(0, min(size, cut - offset)), offset)

    monkeypatch.setattr(_index.os, "pread", pread)
    with pytest.raises(IndexFileError, match=r"truncated: section 6 \(automaton\) has 10 of its"):
        ProductIndex.load(path, catalog)


def test_short_reads_are_read_on(
    catalog: Catalog,
    answers: list[str],
    tmp_path: Path,
    threaded: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A read of more than 2 GiB comes back short on Linux; any short read is
    # read on from where it stopped.
    path = _on_disk(_saved(catalog), tmp_path)
    real = os.pread
    monkeypatch.setattr(_index.os, "pread", lambda fd, size, at: real(fd, min(size, 1000), at))
    _same(ProductIndex(catalog), ProductIndex.load(path, catalog), answers)


def test_a_read_error_on_the_reading_thread_reaches_the_caller(
    catalog: Catalog, tmp_path: Path, threaded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _on_disk(_saved(catalog), tmp_path)
    real = os.pread
    main = threading.get_ident()
    failed = threading.Event()

    def pread(fd: int, size: int, offset: int) -> bytes:
        if threading.get_ident() != main:
            failed.set()
            raise OSError(5, "Input/output error")
        failed.wait(timeout=30)  # the reading thread takes a section first
        return real(fd, size, offset)

    monkeypatch.setattr(_index.os, "pread", pread)
    before = threading.active_count()
    with pytest.raises(OSError, match="Input/output error"):
        ProductIndex.load(path, catalog)
    assert threading.active_count() == before


def test_a_file_object_on_disk_is_left_at_its_end(
    catalog: Catalog, answers: list[str], tmp_path: Path, threaded: None
) -> None:
    data = _saved(catalog)
    path = _on_disk(b"some prefix" + data, tmp_path)
    with open(path, "rb") as handle:
        handle.seek(len(b"some prefix"))
        loaded = ProductIndex.load(handle, catalog)
        assert handle.tell() == len(b"some prefix") + len(data)
    _same(ProductIndex(catalog), loaded, answers)


def test_a_compressed_file_object_is_read_through_its_decompressor(
    catalog: Catalog, answers: list[str], tmp_path: Path, threaded: None
) -> None:
    # A GzipFile has the descriptor of the compressed file: its size and
    # bytes are not the index's, so it is read in turn like a pipe.
    path = tmp_path / "demo.idx.gz"
    path.write_bytes(gzip.compress(_saved(catalog)))
    with gzip.open(path, "rb") as handle:
        loaded = ProductIndex.load(handle, catalog)
    _same(ProductIndex(catalog), loaded, answers)


def test_a_file_of_the_previous_format_asks_for_a_rebuild(catalog: Catalog) -> None:
    payload = pickle.dumps({"matcher": None, "owners": None})
    header = {
        "format": 1,
        "backend": "pyahocorasick",
        "keywords": 1,
        "products": len(catalog),
        "fingerprint": "0" * 64,
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "payload_size": len(payload),
    }
    data = b"SHOPLINK-INDEX\n" + json.dumps(header).encode() + b"\n" + payload
    with pytest.raises(IndexFileError) as excinfo:
        _load(data, catalog)
    assert f"index format 1, this shoplink reads format {FORMAT_VERSION}" in str(excinfo.value)
    assert "rebuild it with `shoplink index build`" in str(excinfo.value)


def test_automaton_numbers_that_do_not_fit_are_corrupt(catalog: Catalog) -> None:
    data = _saved(catalog)
    magic, fields, payload = _split(data)
    automaton = fields["automaton"]
    assert isinstance(automaton, dict)
    automaton["numbers"] = [0, *automaton["numbers"][1:]]  # not a finished automaton
    with pytest.raises(IndexFileError, match="corrupt payload"):
        _load(_join(magic, fields, payload, sign=True), catalog)


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
    # Built with pyahocorasick whatever is installed: that is the automaton
    # the file holds, so building the Rust one as well would only add time.
    assert b"indexed 1 keywords of 1 products (pyahocorasick)" in proc.stderr
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
