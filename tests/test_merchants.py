"""Merchant adapters: real export formats in, checked products out, faults isolated."""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tomllib

import shoplink
from shoplink import (
    Availability,
    CatalogError,
    GoogleMerchantFeed,
    HouseShop,
    JDUnionExport,
    LinkContext,
    Merchant,
    OpenAIProductFeed,
    Product,
    ShoplinkFile,
    SkipReason,
    TaobaoUnionExport,
)

DATA = Path(__file__).parent / "data" / "merchants"
ROOT = Path(__file__).resolve().parents[1]

TAOBAO = Merchant("taobao", "淘宝", domains=("taobao.com", "tmall.com", "alicdn.com"))
JD = Merchant("jd", "京东", domains=("jd.com", "360buyimg.com"))
SHOP = Merchant("shop", "Example", domains=("shop.example.com",))
OUTDOOR = Merchant("outdoor", "Outdoor", domains=("outdoor.example",))


def taobao(path: Path | None = None, **kw: Any) -> TaobaoUnionExport:
    return TaobaoUnionExport(
        path or DATA / "taobao.csv", TAOBAO, sidecar=DATA / "taobao.sidecar.jsonl", **kw
    )


def jd(path: Path | None = None) -> JDUnionExport:
    return JDUnionExport(path or DATA / "jd.csv", JD, sidecar=DATA / "jd.sidecar.jsonl")


# --------------------------------------------------------------------------- formats


def test_taobao_export_maps_columns_and_prefers_the_affiliate_link() -> None:
    catalog = shoplink.Catalog.from_merchants([taobao()], strict=True)
    p1, p2 = catalog.products
    assert p1.id == "tb-p1" and p1.keywords == ("珀莱雅双抗精华", "双抗精华")
    assert p1.url == "https://s.click.taobao.com/t?e=m%3D2%26s%3Dabc"
    assert p1.price == Decimal("259.00") and p1.currency == "CNY"
    assert catalog.terms["tb-p1"].commission_rate == Decimal("0.055")
    # No sidecar row: id from 商品id, keywords from the title, the detail page as URL.
    assert p2.id == "taobao-610000000002" and p2.keywords == ("小熊酸奶机 家用全自动",)
    assert p2.url == "https://detail.tmall.com/item.htm?id=610000000002"
    assert catalog.terms[p2.id].commission_rate == Decimal("0.12")


def test_taobao_export_reads_xlsx(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    import csv

    book = openpyxl.Workbook()
    sheet = book.active
    with (DATA / "taobao.csv").open(encoding="utf-8") as f:
        for i, cells in enumerate(csv.reader(f)):
            # Excel keeps ids and prices as numbers.
            sheet.append([int(c) if i and c.isdigit() else c for c in cells])
    path = tmp_path / "taobao.xlsx"
    book.save(path)
    xlsx = shoplink.Catalog.from_merchants([taobao(path)], strict=True)
    csv_ = shoplink.Catalog.from_merchants([taobao()], strict=True)
    assert xlsx.products == csv_.products


def test_jd_export_and_gb18030_csv(tmp_path: Path) -> None:
    catalog = shoplink.Catalog.from_merchants([jd()], strict=True)
    p1, p2 = catalog.products
    assert p1.url.startswith("https://union-click.jd.com/")
    assert (p2.id, p2.model, p2.brand) == ("jd-100012345679", "DJ13B", "九阳")
    assert catalog.terms[p2.id].commission_rate == Decimal("0.035")
    gbk = tmp_path / "jd.csv"
    gbk.write_bytes((DATA / "jd.csv").read_text("utf-8").encode("gb18030"))
    again = shoplink.Catalog.from_merchants(
        [JDUnionExport(gbk, JD, sidecar=DATA / "jd.sidecar.jsonl", encoding="gb18030")], strict=True
    )
    assert again.products == catalog.products
    # Without encoding=, the error names the encoding to pass.
    with pytest.raises(CatalogError, match=r"not valid utf-8 \(it decodes as gb18030: pass encoding='gb18030'\)"):
        shoplink.Catalog.from_merchants([JDUnionExport(gbk, JD)], strict=True)


def test_openai_feed_variants_minor_units_and_search_eligibility() -> None:
    feed = OpenAIProductFeed(DATA / "acp.json", SHOP)
    catalog = shoplink.Catalog.from_merchants([feed], strict=True)
    assert [p.id for p in catalog] == ["sku-trail-42", "sku-sencha"]
    trail, tea = catalog.products
    assert trail.price == Decimal("129.00") and trail.currency == "USD"
    assert tea.price == Decimal("1500") and tea.currency == "JPY"  # JPY has no minor unit
    assert (
        trail.gtin == "2000000099024" and trail.image_url == "https://cdn.shop.example.com/t42.jpg"
    )
    assert trail.description == "Waterproof trail running shoe."
    assert trail.availability is Availability.IN_STOCK
    assert tea.url == "https://shop.example.com/p/sencha"  # product URL when the variant has none
    assert sorted(feed.excluded) == ["prod-hidden", "sku-trail-43"]


@pytest.mark.parametrize("name", ["google.tsv", "google.xml"])
def test_google_feed_tsv_and_rss(name: str) -> None:
    catalog = shoplink.Catalog.from_merchants(
        [GoogleMerchantFeed(DATA / name, OUTDOOR)], strict=True
    )
    g1, g2 = catalog.products
    assert (g1.id, g1.title, g1.price, g1.currency) == (
        "g-1",
        "Northway Trailblazer GTX",
        Decimal("125.00"),
        "USD",
    )
    assert (g1.brand, g1.model, g1.gtin) == ("Northway", "TB-GTX", "2000000099024")
    assert g1.url.startswith("https://www.outdoor.example/trailblazer?ref=feed")
    assert g2.availability in (Availability.OUT_OF_STOCK, Availability.PREORDER)
    assert g2.title == "Northway Rain Shell"


def test_house_shop_flags_every_link_as_house() -> None:
    house = HouseShop(
        ROOT / "seeds" / "catalog" / "douyin.jsonl", Merchant("douyin", domains=("jinritemai.com",))
    )
    catalog = shoplink.Catalog.from_merchants([house], strict=True)
    result = shoplink.Linker(catalog).link(
        "推荐理肤泉B5修复面膜。", context=LinkContext(answer_id="a1")
    )
    (link,) = result.links
    assert link.house is True
    assert "utm_source=shoplink" in link.url and "utm_content=a1" in link.url


# --------------------------------------------------------------------------- bad input


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


TAOBAO_HEAD = (
    "商品id,商品名称,商品主图,商品详情页链接地址,淘宝客链接,商品价格(单位：元),收入比率(%)\n"
)

BAD: list[tuple[str, str, str, str]] = [
    # case, Taobao CSV body row, field named in the error, words in the reason
    (
        "bad price",
        "61,面霜,,https://item.taobao.com/item.htm?id=61,,12元,5",
        "price (商品价格(单位：元))",
        "not a plain decimal",
    ),
    (
        "bad url",
        "61,面霜,,javascript:alert(1),,12.00,5",
        "url (淘宝客链接 or 商品详情页链接地址)",
        "http(s)",
    ),
    (
        "foreign domain",
        "61,面霜,,https://evil.example/x,,12.00,5",
        "url (淘宝客链接 or 商品详情页链接地址)",
        "not among the domains of merchant 'taobao'",
    ),
    (
        "bad commission",
        "61,面霜,,https://item.taobao.com/a,,12.00,lots",
        "commission_rate (收入比率(%))",
        "not a plain decimal",
    ),
    ("missing title", "61,,,https://item.taobao.com/a,,12.00,5", "title (商品名称)", "required"),
]


@pytest.mark.parametrize(("case", "line", "field", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_export_rows_name_source_row_and_column(
    tmp_path: Path, case: str, line: str, field: str, reason: str
) -> None:
    good = "62,好面霜,,https://item.taobao.com/item.htm?id=62,,15.00,5"
    path = write(tmp_path, "tb.csv", TAOBAO_HEAD + good + "\n" + line + "\n")
    adapter = TaobaoUnionExport(path, TAOBAO)
    with pytest.raises(CatalogError) as info:
        shoplink.Catalog.from_merchants([adapter], strict=True)
    err = info.value
    assert (err.path, err.line, err.field) == (f"taobao:{path}", 3, field)
    assert reason in err.reason
    lenient = shoplink.Catalog.from_merchants([adapter])
    assert [p.id for p in lenient] == ["taobao-62"]
    (bad,) = lenient.rejected
    assert (bad.path, bad.line, bad.field) == (f"taobao:{path}", 3, field)


def test_missing_column_is_a_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, "tb.csv", "商品id,商品名称\n1,x\n")
    with pytest.raises(
        CatalogError, match=r"tb.csv:1: header lacks required column\(s\) 商品详情页链接地址"
    ):
        shoplink.Catalog.from_merchants([TaobaoUnionExport(path, TAOBAO)], strict=True)
    lenient = shoplink.Catalog.from_merchants([TaobaoUnionExport(path, TAOBAO)])
    (failure,) = lenient.failures
    assert failure.adapter == f"taobao:{path}" and "商品详情页链接地址" in failure.error


def acp(tmp_path: Path, variant: dict[str, Any]) -> OpenAIProductFeed:
    import json

    doc = {
        "products": [
            {"id": "p", "title": "T", "url": "https://shop.example.com/p", "variants": [variant]}
        ]
    }
    return OpenAIProductFeed(write(tmp_path, "feed.json", json.dumps(doc)), SHOP)


@pytest.mark.parametrize(
    ("variant", "field", "reason"),
    [
        (
            {"id": "v", "price": {"amount": "129.00", "currency": "USD"}},
            "variants[0].price.amount",
            "minor units",
        ),
        (
            {"id": "v", "price": {"amount": 12.9, "currency": "USD"}},
            "variants[0].price.amount",
            "minor units",
        ),
        ({"id": "v", "price": {"amount": 100}}, "variants[0].price.currency", "required"),
        ({"id": "v", "url": "https://evil.example/v"}, "url", "not among the domains of merchant 'shop'"),
        ({"title": "no id"}, "id", "required"),
    ],
)
def test_bad_feed_variants(
    tmp_path: Path, variant: dict[str, Any], field: str, reason: str
) -> None:
    feed = acp(tmp_path, variant)
    with pytest.raises(CatalogError) as info:
        shoplink.Catalog.from_merchants([feed], strict=True)
    assert (info.value.path, info.value.line, info.value.field) == (feed.name, 1, field)
    assert reason in info.value.reason


def test_broken_json_and_xml_name_the_source(tmp_path: Path) -> None:
    feed = OpenAIProductFeed(write(tmp_path, "feed.json", '{"products": [\n{"id": '), SHOP)
    with pytest.raises(CatalogError, match=r"feed.json: invalid JSON feed.*line 2"):
        shoplink.Catalog.from_merchants([feed], strict=True)
    xml = GoogleMerchantFeed(
        write(tmp_path, "feed.xml", "<rss>\n<channel><item><g:id>1</item></rss>"), OUTDOOR
    )
    with pytest.raises(CatalogError, match=r"feed.xml:2: broken XML"):
        shoplink.Catalog.from_merchants([xml], strict=True)
    bomb = GoogleMerchantFeed(
        write(
            tmp_path, "bomb.xml", '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaa">]>\n<rss/>'
        ),
        OUTDOOR,
    )
    with pytest.raises(CatalogError, match="DOCTYPE"):
        shoplink.Catalog.from_merchants([bomb], strict=True)


def test_google_price_without_currency_is_rejected(tmp_path: Path) -> None:
    tsv = "id\ttitle\tlink\tprice\ng-1\tShoe\thttps://www.outdoor.example/s\t125.00\n"
    feed = GoogleMerchantFeed(write(tmp_path, "f.tsv", tsv), OUTDOOR)
    catalog = shoplink.Catalog.from_merchants([feed])
    (bad,) = catalog.rejected
    assert (bad.line, bad.field) == (2, "currency") and "required when price" in bad.reason


class Exploding:
    """An adapter that fails halfway through its rows."""

    name = "exploding"
    merchant = Merchant("boom", domains=("boom.example",))

    def rows(self) -> Iterator[shoplink.SourceRow]:
        yield (
            1,
            {"id": "b1", "title": "Boom", "url": "https://boom.example/1", "keywords": ["CeraVe"]},
        )
        raise ConnectionError("feed server went away")

    def link_url(self, product: Product, context: LinkContext) -> str:
        return product.url


def test_a_failing_adapter_is_isolated_unless_strict() -> None:
    catalog = shoplink.Catalog.from_merchants([Exploding(), jd()])
    assert [p.merchant for p in catalog] == ["jd", "jd"]  # nothing half-loaded from "boom"
    (failure,) = catalog.failures
    assert (failure.adapter, failure.merchant) == ("exploding", "boom")
    assert failure.error == "ConnectionError: feed server went away"
    assert str(failure) == "exploding: adapter failed: ConnectionError: feed server went away"
    with pytest.raises(CatalogError, match="exploding: adapter failed: ConnectionError"):
        shoplink.Catalog.from_merchants([Exploding(), jd()], strict=True)


def test_ids_are_unique_across_adapters_and_rows_must_be_pairs() -> None:
    class Twin(Exploding):
        name = "twin"
        merchant = Merchant("twin", domains=("twin.example",))

        def rows(self) -> Iterator[Any]:
            yield (
                5,
                {"id": "jd-p1", "title": "t", "url": "https://twin.example/", "keywords": ["k"]},
            )
            yield "not a pair"
            yield (
                7,
                {
                    "id": "t2",
                    "merchant": "jd",
                    "title": "t",
                    "url": "https://twin.example/",
                    "keywords": ["k"],
                },
            )

    catalog = shoplink.Catalog.from_merchants([jd(), Twin()])
    reasons = [(r.path, r.line, r.field, r.reason) for r in catalog.rejected]
    assert (
        reasons[0][:3] == ("twin", 5, "id") and f"first on jd:{DATA / 'jd.csv'}:2" in reasons[0][3]
    )
    assert reasons[1][:3] == ("twin", 2, "") and "expected a (line, fields) pair" in reasons[1][3]
    assert reasons[2][:3] == ("twin", 7, "merchant") and "source serves 'twin'" in reasons[2][3]


def test_merchants_must_declare_domains_once() -> None:
    bare = ShoplinkFile(DATA / "x.jsonl", Merchant("x"))
    with pytest.raises(shoplink.ConfigError, match="declares no link domains"):
        shoplink.Catalog.from_merchants([bare])
    with pytest.raises(shoplink.ConfigError, match="served twice"):
        shoplink.Catalog.from_merchants([jd(), jd()])


# --------------------------------------------------------------------------- links


def test_add_query_keeps_the_existing_query_and_encodes_values() -> None:
    url = "https://s.click.taobao.com/t?e=m%3D2%26s%3Dabc&x=1#top"
    out = shoplink.add_query(url, {"sub_id": "对话/1&a=b #x", "x": "2"})
    assert (
        out
        == "https://s.click.taobao.com/t?e=m%3D2%26s%3Dabc&sub_id=%E5%AF%B9%E8%AF%9D%2F1%26a%3Db%20%23x&x=2#top"
    )
    assert (
        shoplink.add_query("https://item.jd.com/1.html", {"a": "b"})
        == "https://item.jd.com/1.html?a=b"
    )


def test_tracking_templates_and_errors() -> None:
    track = shoplink.QueryTracking(
        {"subUnionId": "{conversation_id}_{position}", "empty": "{answer_id}"}
    )
    product = Product("p", "jd", "T", "https://item.jd.com/1.html?from=x", ("k",))
    url = track(product, LinkContext(conversation_id="会话9", position=2))
    assert url == "https://item.jd.com/1.html?from=x&subUnionId=%E4%BC%9A%E8%AF%9D9_2"
    with pytest.raises(shoplink.ConfigError, match="unknown field"):
        shoplink.QueryTracking({"a": "{user_email}"})


def test_links_get_context_position_and_style() -> None:
    catalog = shoplink.Catalog.from_merchants(
        [
            JDUnionExport(
                DATA / "jd.csv", JD, sidecar=DATA / "jd.sidecar.jsonl", tracking=shoplink.UTM
            )
        ]
    )
    result = shoplink.Linker(catalog, min_gap=0).link(
        "珀莱雅双抗精华和九阳豆浆机。",
        context=LinkContext(answer_id="ans-1", conversation_id="c-1"),
    )
    first, second = result.links
    assert first.url.endswith(
        "&utm_source=shoplink&utm_medium=ai_assistant&utm_campaign=inline&utm_content=ans-1&utm_term=1"
    )
    assert second.url.endswith(
        "?utm_source=shoplink&utm_medium=ai_assistant&utm_campaign=inline&utm_content=ans-1&utm_term=2"
    )
    assert result.strip() == result.original


@pytest.mark.parametrize(
    ("builder", "reason"),
    [
        (lambda p, c: 1 / 0, "ZeroDivisionError"),
        (lambda p, c: "javascript:alert(1)", "non-http(s)"),
        (lambda p, c: "https://evil.example/x", "outside the merchant's domains"),
        (lambda p, c: "https://item.jd.com/a b", "whitespace or control"),
        (lambda p, c: "https://item.jd.com/a\u3000b", "whitespace or control"),
        (lambda p, c: "https://item.jd.com/a\x7fb", "whitespace or control"),
        (lambda p, c: "https://item.jd.com/a\x00", "whitespace or control"),
    ],
)
def test_a_failing_link_builder_leaves_the_mention_unlinked(builder: Any, reason: str) -> None:
    good = shoplink.Catalog.from_merchants([jd()])
    catalog = shoplink.Catalog.build(
        good.products, merchants=good.merchants.values(), link_builders={"jd": builder}
    )
    answer = "试试珀莱雅双抗精华。"
    result = shoplink.Linker(catalog).link(answer)
    assert result.links == () and result.text == answer
    (skip,) = result.skipped
    assert (
        skip.reason is SkipReason.LINK_FAILED and reason in skip.detail and "jd-p1" in skip.detail
    )


def test_a_built_url_is_refused_for_exactly_the_whitespace_and_control_characters() -> None:
    # Every code point: refused iff ``str.isspace`` or a C0 control or DEL.
    from shoplink._links import _UNSAFE_IN_URL

    refused = {c for c in range(sys.maxunicode + 1) if _UNSAFE_IN_URL.search(chr(c))}
    expected = {c for c in range(sys.maxunicode + 1) if chr(c).isspace() or c < 32 or c == 127}
    assert refused == expected


# --------------------------------------------------------------------------- offers


def test_same_item_at_several_shops_is_grouped_neutrally() -> None:
    catalog = shoplink.Catalog.from_merchants([jd(), taobao()])
    assert [p.id for p in catalog.offers("tb-p1")] == ["jd-p1", "tb-p1"]  # same GTIN
    assert [p.id for p in catalog.offers("taobao-610000000002")] == ["taobao-610000000002"]
    with pytest.raises(KeyError):
        catalog.offers("nope")
    (link,) = shoplink.Linker(catalog).link("珀莱雅双抗精华").links
    assert link.offers == tuple(
        p.id for p in catalog.offers(link.product_id) if p.id != link.product_id
    )
    assert link.to_dict()["offers"] == list(link.offers)


def test_brand_and_model_group_offers(make_catalog: Any) -> None:
    from tests.conftest import product_row

    catalog = make_catalog(
        [
            product_row("a", ["k1"], brand="Northway", model="TB-GTX"),
            product_row("b", ["k2"], brand="northway ", model="tb-gtx"),
            product_row("c", ["k3"], brand="Other", model="TB-GTX"),
        ]
    )
    assert [p.id for p in catalog.offers("b")] == ["a", "b"]
    assert [p.id for p in catalog.offers("c")] == ["c"]


def test_the_house_flag_never_changes_a_choice() -> None:
    demo = shoplink.demo_catalog()
    flipped = shoplink.Catalog.build(
        demo.products,
        merchants=[
            Merchant(m.id, m.name, house=not m.house, domains=m.domains)
            for m in demo.merchants.values()
        ],
    )
    a, b = shoplink.Linker(demo), shoplink.Linker(flipped)
    for answer in shoplink.demo_answers():
        left = [(x.product_id, x.url, x.offers) for x in a.link(answer.answer, answer.query).links]
        right = [(x.product_id, x.url, x.offers) for x in b.link(answer.answer, answer.query).links]
        assert left == right


# --------------------------------------------------------------------------- refresh


def test_refresh_is_atomic_under_concurrent_linking(tmp_path: Path) -> None:
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old_dir.mkdir()
    new_dir.mkdir()
    for d, url in ((old_dir, "https://item.jd.com/old"), (new_dir, "https://item.jd.com/new")):
        lines = [
            f'{{"id": "{d.name}-{i}", "title": "t", "url": "{url}/{i}", "keywords": ["品牌{i}"]}}'
            for i in range(3)
        ]
        (d / "jd.jsonl").write_text("\n".join(lines), encoding="utf-8")
    old = shoplink.Catalog.from_merchants([ShoplinkFile(old_dir / "jd.jsonl", JD)])
    new = shoplink.Catalog.from_merchants([ShoplinkFile(new_dir / "jd.jsonl", JD)])
    linker = shoplink.Linker(old, min_gap=0)
    answer = "品牌0、品牌1和品牌2。"
    mixed: list[list[str]] = []
    versions: set[str] = set()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            ids = [link.product_id for link in linker.link(answer).links]
            prefixes = {i.split("-")[0] for i in ids}
            if len(prefixes) != 1 or len(ids) != 3:
                mixed.append(ids)
            versions.update(prefixes)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(50):
        linker.update(new)
        linker.update(old)
    stop.set()
    for t in threads:
        t.join()
    assert mixed == []
    assert versions <= {"old", "new"}


# --------------------------------------------------------------------------- discovery


def test_pyproject_registers_every_builtin_adapter() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    points = pyproject["project"]["entry-points"]["shoplink.merchants"]
    assert set(points) == {"shoplink", "house", "taobao", "jd", "openai", "google"}
    for value in points.values():
        module, _, attr = value.partition(":")
        assert getattr(__import__(module, fromlist=[attr]), attr).__doc__


def test_installed_merchants_and_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from importlib.metadata import EntryPoint

    from shoplink import _cli, _merchants

    points = [
        EntryPoint("taobao", "shoplink._adapters:TaobaoUnionExport", "shoplink.merchants"),
        EntryPoint("broken", "no_such_module:Adapter", "shoplink.merchants"),
    ]
    monkeypatch.setattr(_merchants.importlib.metadata, "entry_points", lambda group: points)
    found = shoplink.installed_merchants()
    assert [m.name for m in found] == ["broken", "taobao"]
    assert found[1].description.startswith("淘宝联盟")
    assert "ModuleNotFoundError" in found[0].error
    assert found[1].load() is TaobaoUnionExport
    assert _cli.main(["merchants"]) == 0
    out = capsys.readouterr().out
    assert "taobao\tshoplink._adapters:TaobaoUnionExport\t淘宝联盟" in out
    assert "broken\tno_such_module:Adapter\t(cannot load: ModuleNotFoundError" in out


def test_seed_files_are_one_per_merchant_in_its_own_format() -> None:
    names = sorted(p.name for p in (ROOT / "seeds" / "catalog").iterdir())
    assert names == [
        "douyin.jsonl",
        "jd.csv",
        "jd.sidecar.jsonl",
        "taobao.csv",
        "taobao.sidecar.jsonl",
    ]
    assert (
        (ROOT / "seeds" / "catalog" / "taobao.csv")
        .read_text("utf-8")
        .startswith("商品id,商品名称,")
    )
    assert shutil.which  # keep import used on every platform


def test_the_user_written_adapter_works(tmp_path: Path) -> None:
    from tests.typing.merchant_adapter import DewuExport

    path = tmp_path / "dewu.csv"
    path.write_text(
        "spuId,name,link,names\n7,AJ1 芝加哥,https://m.dewu.com/p/7?src=app,AJ1/乔丹1\n",
        encoding="utf-8",
    )
    catalog = shoplink.Catalog.from_merchants([DewuExport(str(path))], strict=True)
    (link,) = shoplink.Linker(catalog).link("买AJ1吧", context=LinkContext(answer_id="答1")).links
    assert link.url == "https://m.dewu.com/p/7?src=app&sub=%E7%AD%941"
