"""Catalog loading: every bad row is named by file, line and field; no good row is lost."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoplink
from shoplink import Availability, CatalogError, ShoplinkError

GOOD: dict[str, Any] = {
    "id": "p1",
    "merchant": "jd",
    "title": "理肤泉B5修复面膜 25g*5片",
    "url": "https://item.jd.com/100000000001.html",
    "keywords": ["理肤泉B5修复面膜", "B5面膜"],
    "price": "129.00",
    "currency": "CNY",
    "availability": "in_stock",
    "commission_rate": "0.08",
}


def row(**changes: Any) -> dict[str, Any]:
    out = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def write_jsonl(tmp_path: Path, rows: list[Any], name: str = "catalog.jsonl") -> Path:
    path = tmp_path / name
    lines = [r if isinstance(r, (str, bytes)) else json.dumps(r, ensure_ascii=False) for r in rows]
    data = b"\n".join(x if isinstance(x, bytes) else x.encode("utf-8") for x in lines) + b"\n"
    path.write_bytes(data)
    return path


def write_csv(tmp_path: Path, rows: list[dict[str, Any]], name: str = "catalog.csv") -> Path:
    fields = sorted({k for r in rows for k in r} | {"id", "merchant", "title", "url", "keywords"})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "|".join(v) if isinstance(v, list) else v for k, v in r.items()})
    path = tmp_path / name
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_good_jsonl_row_becomes_product(tmp_path: Path) -> None:
    catalog = shoplink.load_catalog(write_jsonl(tmp_path, [GOOD]))
    (product,) = catalog.products
    assert product.id == "p1"
    assert product.keywords == ("理肤泉B5修复面膜", "B5面膜")
    assert product.price == Decimal("129.00")
    assert product.availability is Availability.IN_STOCK
    # Money for reporting lives beside the product, not on it.
    assert not hasattr(product, "commission_rate")
    assert catalog.terms["p1"].commission_rate == Decimal("0.08")


def test_good_csv_row_becomes_product(tmp_path: Path) -> None:
    catalog = shoplink.load_catalog(write_csv(tmp_path, [GOOD, row(id="p2")]))
    assert [p.id for p in catalog] == ["p1", "p2"]
    assert catalog["p2"].keywords == ("理肤泉B5修复面膜", "B5面膜")


BAD_ROWS: list[tuple[str, Any, str, str]] = [
    # (case, row, field, words expected in the reason)
    ("broken json", '{"id": "x", ', "", "invalid JSON"),
    ("not an object", "[1, 2]", "", "expected a JSON object"),
    ("string line", '"hello"', "", "expected a JSON object"),
    ("missing id", row(id=...), "id", "required"),
    ("missing title", row(title=...), "title", "required"),
    ("missing url", row(url=...), "url", "required"),
    ("missing keywords", row(keywords=...), "keywords", "required"),
    ("empty keywords", row(keywords=[]), "keywords", "required"),
    ("blank keyword", row(keywords=["ok", "  "]), "keywords", "entry 2 is empty"),
    ("numeric keyword", row(keywords=["ok", 5]), "keywords", "expected a string"),
    ("keywords object", row(keywords={"a": 1}), "keywords", "expected a list"),
    ("numeric id", row(id=17), "id", "expected a string"),
    ("title list", row(title=["a"]), "title", "expected a string"),
    ("title newline", row(title="a\nb"), "title", "control character"),
    ("price words", row(price="129元"), "price", "not a plain decimal"),
    ("price negative", row(price="-1"), "price", "-1 is negative"),
    ("price negative number", row(price=-5), "price", "-5 is negative"),
    ("price exponent", row(price="1e3"), "price", "not a plain decimal"),
    ("price bool", row(price=True), "price", "expected a decimal"),
    ("price without currency", row(currency=...), "currency", "required when price"),
    ("bad currency", row(currency="yuan"), "currency", "ISO 4217"),
    ("lower-case currency", row(currency="cny"), "currency", "'cny' must be upper case"),
    ("keywords string", row(keywords="seven"), "keywords", "expected a list of strings, got a string"),
    ("context terms string", row(context_terms="水果"), "context_terms", "expected a list"),
    ("unknown availability", row(availability="maybe"), "availability", "not one of"),
    ("javascript url", row(url="javascript:alert(1)"), "url", "must be http(s)"),
    ("data url", row(url="data:text/html,<script>alert(1)</script>"), "url", "must be http(s)"),
    ("scheme-relative url", row(url="//evil.example/x"), "url", "http(s)"),
    ("ftp url", row(url="ftp://files.example/x"), "url", "must be http(s)"),
    ("url with space", row(url="https://item.jd.com/a b"), "url", "whitespace"),
    ("url credentials", row(url="https://item.jd.com@evil.example/"), "url", "user name"),
    ("url no host", row(url="https:///path"), "url", "no host"),
    ("image javascript", row(image_url="javascript:alert(1)"), "image_url", "http(s)"),
    ("commission too big", row(commission_rate="3"), "commission_rate", "outside"),
    ("bad gtin", row(gtin="12ab"), "gtin", "barcode"),
    ("naive date", row(price_checked_at="2026-01-01T00:00:00"), "price_checked_at", "time zone"),
    ("bad date", row(price_checked_at="yesterday"), "price_checked_at", "ISO 8601"),
    ("duplicate key", '{"id": "a", "id": "b"}', "id", "appears twice"),
]


@pytest.mark.parametrize(("case", "bad", "field", "reason"), BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_strict_load_names_file_line_and_field(
    tmp_path: Path, case: str, bad: Any, field: str, reason: str
) -> None:
    path = write_jsonl(tmp_path, [row(id="ok1"), bad, row(id="ok2")])
    with pytest.raises(CatalogError) as info:
        shoplink.load_catalog(path)
    err = info.value
    assert isinstance(err, ShoplinkError) and isinstance(err, ValueError)
    assert (err.path, err.line, err.field) == (str(path), 2, field)
    assert reason in err.reason
    assert str(err).startswith(f"{path}:2: ")


@pytest.mark.parametrize(("case", "bad", "field", "reason"), BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_lenient_load_keeps_every_good_row(
    tmp_path: Path, case: str, bad: Any, field: str, reason: str
) -> None:
    path = write_jsonl(tmp_path, [row(id="ok1"), bad, row(id="ok2")])
    catalog = shoplink.load_catalog(path, strict=False)
    assert [p.id for p in catalog] == ["ok1", "ok2"]
    (rejected,) = catalog.rejected
    assert (rejected.line, rejected.field) == (2, field)
    assert reason in rejected.reason


def test_duplicate_id_names_first_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path, [row(id="a"), row(id="b"), row(id="a")])
    with pytest.raises(CatalogError, match=r":3: id: duplicate id 'a' \(first on line 1\)"):
        shoplink.load_catalog(path)
    assert [p.id for p in shoplink.load_catalog(path, strict=False)] == ["a", "b"]


def test_invalid_utf8_line_is_reported_and_rest_read(tmp_path: Path) -> None:
    bad = (
        json.dumps(row(id="bad"), ensure_ascii=False)
        .encode("utf-8")
        .replace("面膜".encode(), b"\xff\xfe")
    )
    path = write_jsonl(tmp_path, [row(id="a"), bad, row(id="c")])
    with pytest.raises(CatalogError, match=r":2: not valid UTF-8"):
        shoplink.load_catalog(path)
    catalog = shoplink.load_catalog(path, strict=False)
    assert [p.id for p in catalog] == ["a", "c"]
    assert catalog.rejected[0].line == 2


def test_csv_invalid_utf8_and_ragged_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [row(id="a"), row(id="b"), row(id="c")])
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace("面膜".encode(), b"\xc3\x28")
    lines[3] = lines[3] + b",extra"
    path.write_bytes(b"\n".join(lines))
    catalog = shoplink.load_catalog(path, strict=False)
    assert [p.id for p in catalog] == ["a"]
    assert [(r.line, r.reason.split(" (")[0]) for r in catalog.rejected] == [
        (3, "not valid UTF-8"),
        (4, "has 10 cells, the header has 9"),
    ]


def test_csv_quoted_multiline_cell_keeps_line_numbers(tmp_path: Path) -> None:
    header = "id,merchant,title,url,keywords\n"
    body = 'a,jd,"line one\nline two",https://item.jd.com/1.html,A\nb,jd,B,javascript:x,B\n'
    path = tmp_path / "c.csv"
    path.write_text(header + body, encoding="utf-8")
    catalog = shoplink.load_catalog(path, strict=False)
    # Row a's title has a newline (rejected on line 2); row b starts on line 4.
    assert [(r.line, r.field) for r in catalog.rejected] == [(2, "title"), (4, "url")]


def test_csv_header_without_required_columns(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,title\n1,x\n", encoding="utf-8")
    with pytest.raises(
        CatalogError, match=r"c\.csv:1: header lacks required column\(s\) merchant, url, keywords"
    ):
        shoplink.load_catalog(path, strict=False)


def test_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read file"):
        shoplink.load_catalog(tmp_path / "nope.jsonl")


def test_empty_file_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_bytes(b"")
    assert len(shoplink.load_catalog(path)) == 0
    path.write_bytes(b"\n  \n" + json.dumps(GOOD).encode() + b"\n\n")
    assert len(shoplink.load_catalog(path)) == 1


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\r\n")
    assert [p.id for p in shoplink.load_catalog(path)] == ["p1"]


def test_declared_merchant_domains_are_enforced(tmp_path: Path) -> None:
    jd = shoplink.Merchant("jd", "京东", domains=("item.jd.com",))
    path = write_jsonl(tmp_path, [row(id="a"), row(id="b", url="https://evil.example/jd")])
    with pytest.raises(CatalogError, match=r":2: url: host 'evil.example' is not among"):
        shoplink.load_catalog(path, merchants=[jd])
    ok = shoplink.load_catalog(path, strict=False, merchants=[jd])
    assert [p.id for p in ok] == ["a"]


def test_hostile_titles_are_data_not_errors(tmp_path: Path) -> None:
    hostile = [
        "<script>alert(1)</script>",
        "[x](javascript:alert(1))",
        "**bold** `code`",
        "\u202eevil",
    ]
    path = write_jsonl(tmp_path, [row(id=f"h{i}", title=t) for i, t in enumerate(hostile)])
    assert [p.title for p in shoplink.load_catalog(path)] == hostile


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.just("good"),
            st.sampled_from([b[1] for b in BAD_ROWS]),
            st.binary(max_size=30).filter(lambda b: b"\n" not in b and b"\r" not in b),
        ),
        max_size=12,
    )
)
def test_lenient_load_never_loses_a_good_row(
    tmp_path_factory: pytest.TempPathFactory, rows: list[Any]
) -> None:
    tmp = tmp_path_factory.mktemp("cat")
    materialised: list[Any] = []
    expected: list[str] = []
    for i, r in enumerate(rows):
        if r == "good":
            materialised.append(row(id=f"g{i}"))
            expected.append(f"g{i}")
        else:
            materialised.append(r)
    path = write_jsonl(tmp, materialised)
    catalog = shoplink.load_catalog(path, strict=False)
    assert [p.id for p in catalog] == expected
    assert len(catalog.rejected) + len(expected) <= len(rows)
    for rejected in catalog.rejected:
        assert 1 <= rejected.line <= len(rows)


def test_demo_catalog_is_valid_and_shaped_as_promised() -> None:
    catalog = shoplink.demo_catalog()
    assert len(catalog) >= 60
    assert {p.merchant for p in catalog} == {"douyin", "taobao", "jd"}
    assert [m.id for m in catalog.merchants.values() if m.house] == ["douyin"]
    assert catalog.rejected == ()
    answers = shoplink.demo_answers()
    assert len(answers) >= 10
    assert {a.lang for a in answers} == {"zh", "en"}


def test_csv_list_cells_are_still_split_on_bars(tmp_path: Path) -> None:
    # JSON wants a list; in CSV the "a|b" cell is how a list is written.
    path = write_csv(tmp_path, [row(keywords=["seven", "7"], context_terms=["水果"])])
    (product,) = shoplink.load_catalog(path)
    assert product.keywords == ("seven", "7") and product.context_terms == ("水果",)


def test_domain_error_quotes_the_merchant_once(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path, [row(url="https://evil.example/x")])
    jd = shoplink.Merchant("jd", domains=("jd.com",))
    with pytest.raises(CatalogError) as info:
        shoplink.load_catalog(path, merchants=[jd])
    assert "among the domains of merchant 'jd' (jd.com)" in info.value.reason
    assert "'jd''s" not in str(info.value)


def test_gb18030_file_is_named_as_such(tmp_path: Path) -> None:
    jsonl = tmp_path / "gbk.jsonl"
    jsonl.write_bytes(json.dumps(GOOD, ensure_ascii=False).encode("gb18030") + b"\n")
    catalog = shoplink.load_catalog(jsonl, strict=False)
    (rejected,) = catalog.rejected
    assert "not valid UTF-8" in rejected.reason and "decodes as gb18030" in rejected.reason
    csv_path = tmp_path / "gbk.csv"
    csv_path.write_bytes(write_csv(tmp_path, [GOOD]).read_text("utf-8").encode("gb18030"))
    with pytest.raises(CatalogError, match=r"not valid UTF-8 \(it decodes as gb18030"):
        shoplink.load_catalog(csv_path)


@pytest.mark.parametrize(
    ("magic", "kind"),
    [(b"PK\x03\x04", "spreadsheet (.xlsx"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".xls file")],
)
def test_spreadsheet_points_to_the_export_adapters(tmp_path: Path, magic: bytes, kind: str) -> None:
    path = tmp_path / "taobao.xlsx"
    path.write_bytes(magic + bytes(range(256)) * 4)
    for name in (path, path.with_suffix(".csv")):
        name.write_bytes(path.read_bytes())
        with pytest.raises(CatalogError) as info:
            shoplink.load_catalog(name)
        message = str(info.value)
        assert message.startswith(f"{name}: this is ") and kind in message
        assert "TaobaoUnionExport" in message and "JDUnionExport" in message
        assert "UTF-8" not in message.split(":")[1]


def test_load_catalog_takes_a_link_builder_per_merchant(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path,
        [row(), row(id="t1", merchant="taobao", url="https://item.taobao.com/item.htm?id=1", keywords=["别的面膜"])],
    )
    tracking = {"jd": shoplink.QueryTracking({"sub": "{answer_id}"})}
    catalog = shoplink.load_catalog(path, tracking=tracking)
    context = shoplink.LinkContext(answer_id="a1")
    assert catalog.link_url(catalog["p1"], context) == GOOD["url"] + "?sub=a1"
    assert catalog.link_url(catalog["t1"], context) == "https://item.taobao.com/item.htm?id=1"
    result = shoplink.Linker(catalog).link("推荐理肤泉B5修复面膜。", context=context)
    assert [link.url for link in result.links] == [GOOD["url"] + "?sub=a1"]
    # A merchant no row names is most likely a typo: refused, not ignored.
    with pytest.raises(shoplink.ConfigError, match=r"'JD'.*merchants: jd, taobao"):
        shoplink.load_catalog(path, tracking={"JD": shoplink.UTM})
    with pytest.raises(shoplink.ConfigError, match="must be a LinkBuilder"):
        shoplink.load_catalog(path, tracking={"jd": "utm"})  # type: ignore[dict-item]


# URLs whose host a browser (a WHATWG URL parser) reads otherwise than
# ``urllib.parse.urlsplit``, or that carry something before the host.
HOSTILE_URLS = [
    "https://evil.example\\.item.jd.com/1",
    "https://evil.example\\@item.jd.com/1",
    "https://item.jd.com\\@evil.example/1",
    "https://item.jd.com@evil.example/1",
    "https://evil.example@item.jd.com/1",
    "https://user:pw@item.jd.com/1",
    "https://evil.example%2eitem.jd.com/1",
    "https://evil.example%5c.item.jd.com/1",
    "https://evil.example%2f.item.jd.com/1",
    "https://evil.example%40item.jd.com/1",
    "https://evil.exa\tmple.item.jd.com/1",
    "https://evil.example\n.item.jd.com/1",
    "https://evil.example\r.item.jd.com/1",
    "https://evil.example/.item.jd.com/1",
    "https:\\\\evil.example/item.jd.com/1",
    "https:/evil.example/1",
    "https:evil.example/1",
    "https:///evil.example/1",
    "https://evil.example＼.item.jd.com/1",
    "https://evil.example／.item.jd.com/1",
    "https://evil.example＠item.jd.com/1",
    "https://evil.example?.item.jd.com/1",
    "https://evil.example#.item.jd.com/1",
    "https://[::1].item.jd.com/1",
    "https://item.jd.com:80@evil.example/1",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_urls_a_browser_reads_on_another_host_are_refused(tmp_path: Path, url: str) -> None:
    jd = shoplink.Merchant("jd", "京东", domains=("item.jd.com",))
    path = write_jsonl(tmp_path, [row(id="a", url=url)])
    with pytest.raises(CatalogError, match=r"catalog\.jsonl:1: url: "):
        shoplink.load_catalog(path, merchants=[jd])
    # Undeclared domains do not make them acceptable either (the scheme-only
    # check still refuses what a browser reads otherwise), ...
    authority = url.split("/")[2] if url.count("/") >= 3 else ""
    if "@" in authority or "\\" in url or any(c in url for c in "\t\n\r%＼／＠"):
        with pytest.raises(CatalogError):
            shoplink.load_catalog(path)
    # ... nor a ready-made product, as a link target.
    product = shoplink.Product("a", "jd", "t", url, ("kw",))
    with pytest.raises(CatalogError):
        shoplink.Catalog.build([product], merchants=[jd])


@pytest.mark.parametrize(
    "url",
    [
        "https://item.jd.com/1",
        "https://ITEM.JD.COM./1",
        "https://a.item.jd.com:8443/1?x=@y#@z",
        "https://item.jd.com/a\\b",
        "https://item。jd.com/1",
    ],
)
def test_plain_urls_on_declared_domains_still_load(tmp_path: Path, url: str) -> None:
    jd = shoplink.Merchant("jd", "京东", domains=("item.jd.com",))
    path = write_jsonl(tmp_path, [row(id="a", url=url)])
    assert [p.url for p in shoplink.load_catalog(path, merchants=[jd])] == [url]


@pytest.mark.parametrize("named", ["jd-mall", "JD"])
def test_an_undeclared_merchant_is_a_bad_row_once_merchants_are_declared(
    tmp_path: Path, named: str
) -> None:
    jd = shoplink.Merchant("jd", "京东", domains=("item.jd.com",))
    path = write_jsonl(
        tmp_path, [row(id="a"), row(id="b", merchant=named, url="https://evil.example/phish")]
    )
    with pytest.raises(
        CatalogError, match=rf"catalog\.jsonl:2: merchant: merchant '{named}' is not declared"
    ) as caught:
        shoplink.load_catalog(path, merchants=[jd])
    assert ("did you mean 'jd'" in str(caught.value)) == (named == "JD")
    lenient = shoplink.load_catalog(path, strict=False, merchants=[jd])
    assert [p.id for p in lenient] == ["a"]
    (bad,) = lenient.rejected
    assert (bad.line, bad.field) == (2, "merchant") and named in bad.reason
    # Nothing declared: any merchant id is taken as it comes (as before).
    assert len(shoplink.load_catalog(path)) == 2
    # Ready-made products are held to the same rule.
    product = shoplink.Product("b", named, "t", "https://evil.example/phish", ("kw",))
    with pytest.raises(CatalogError, match=r"merchant: .*not declared"):
        shoplink.Catalog.build([product], merchants=[jd])
