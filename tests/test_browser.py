"""The HTML output of each style in a real browser (headless Chromium).

Checks that no script smuggled in through the catalog ran, and saves a
screenshot of each style to ``docs/img/style-<style>.png`` (shown in
``docs/forms.md``).  Chromium comes from ``scripts/install-browser`` (Debian
packages ``chromium`` and ``chromium-driver``), which ``.ci/run`` calls, so CI
runs this test; elsewhere it is skipped when Chromium is absent.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import shoplink
from tests.test_hostile import audit

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (run scripts/install-browser)"
)
NOW = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)
HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
ANSWER = (
    "<h3>敏感肌怎么选</h3>"
    "<p>敏感肌优先选修护、舒缓、保湿类的产品，避开高浓度美白和去角质成分。</p>"
    "<ol><li><b>理肤泉B5修复面膜</b>：含泛醇和积雪草，泛红、换季时用。</li>"
    "<li><b>薇诺娜舒敏保湿面膜</b>：主打舒缓干痒和刺痛，成分精简。</li>"
    "<li><b>玉泽皮肤屏障修护面膜</b>：神经酰胺路线，适合修护期。</li></ol>"
    "<p>第一次用新产品，先在耳后试用 24 小时。</p>"
)
COLORS = ["#f4c7c3", "#c3dcf4", "#cdeccd", "#f4e6c3", "#e0cdf4", "#c3f4ee"]


@pytest.fixture(scope="module")
def image_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve placeholder product pictures on 127.0.0.1 (the browser gets no network)."""
    folder = tmp_path_factory.mktemp("img")
    for n, color in enumerate(COLORS):
        (folder / f"p{n}.svg").write_text(
            '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240">'
            f'<rect width="240" height="240" fill="{color}"/>'
            '<rect x="80" y="50" width="80" height="140" rx="16" fill="#fff" opacity=".8"/>'
            "</svg>"
        )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass

    server = Quiet(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def catalog(images: str, hostile: bool) -> shoplink.Catalog:
    demo = shoplink.demo_catalog()
    products = []
    for n, product in enumerate(demo.products):
        changes: dict[str, object] = {"image_url": f"{images}/p{n % len(COLORS)}.svg"}
        if hostile:
            changes["title"] = product.title[:12] + HOSTILE
        products.append(attrs.evolve(product, **changes))
    merchants = [
        attrs.evolve(m, domains=(*m.domains, "127.0.0.1")) for m in demo.merchants.values()
    ]
    return shoplink.Catalog.build(products, merchants=merchants)


def page(body: str) -> str:
    return (
        "<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>shoplink</title>"
        f"<style>body{{font:15px/1.6 sans-serif;margin:16px 20px;max-width:760px}}"
        f"{shoplink.default_stylesheet()}</style></head><body>{body}</body></html>"
    )


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--user-data-dir={tmp / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("style", ["inline", "card", "reference"])
def test_style_renders_in_chromium_without_running_injected_script(
    style: str, image_server: str, tmp_path: Path
) -> None:
    hostile = shoplink.Linker(catalog(image_server, hostile=True), style=style, format="html")
    result = hostile.link(ANSWER, query="敏感肌适合用什么样的面膜", now=NOW)
    assert len(result.links) == 3
    path = tmp_path / "hostile.html"
    path.write_text(page(result.text), "utf-8")
    proc = chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", path.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "<title>shoplink</title>" in dom, "a script changed document.title"
    # The DOM after scripts ran, parsed: an injected element or handler would show here
    # (attribute values may hold "<script>" as text: the serializer keeps "<" in them).
    problems, _ = audit(dom[dom.index("<body>") :])
    assert not problems
    assert dom.count('class="shoplink-label"') >= 3

    clean = shoplink.Linker(catalog(image_server, hostile=False), style=style, format="html")
    shown = clean.link(ANSWER, query="敏感肌适合用什么样的面膜", now=NOW)
    path = tmp_path / f"{style}.html"
    path.write_text(page(shown.text), "utf-8")
    shot = ROOT / "docs" / "img" / f"style-{style}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    height = {"inline": 240, "card": 520, "reference": 360}[style]
    proc = chromium(
        tmp_path,
        "--virtual-time-budget=3000",
        f"--screenshot={shot}",
        f"--window-size=800,{height}",
        path.as_uri(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.stat().st_size > 5000
