"""Logging under the ``shoplink`` logger: nothing configured, one DEBUG record
per decision, INFO for catalog loads and index builds (docs/logging.md)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

import shoplink
from tests.conftest import catalog_from_rows, product_row

ANSWER = "推荐 iPhone 16、罗技K120也行。\n\n`iPhone 16` 在代码里。\n\n再说一次 iPhone 16。\n"


def decisions(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, int, str]]:
    return [
        (r.shoplink_decision, r.shoplink_mention, r.shoplink_start, r.getMessage())  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "shoplink.linker"
    ]


def test_import_configures_nothing_but_a_null_handler() -> None:
    code = (
        "import logging, shoplink; "
        "own = logging.getLogger('shoplink'); "
        "print([type(h).__name__ for h in own.handlers], own.level, own.propagate, "
        "logging.getLogger().handlers)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['NullHandler'] 0 True []"


def test_one_debug_record_per_decision_in_answer_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    linker = shoplink.Linker(shoplink.demo_catalog())
    with caplog.at_level(logging.DEBUG, logger="shoplink"):
        result = linker.link(ANSWER)
    got = decisions(caplog)
    assert len(got) == len(result.links) + len(result.skipped) >= 3
    assert [start for _, _, start, _ in got] == sorted(start for _, _, start, _ in got)
    (link,) = result.links
    assert (link.mention, link.start) == ("iPhone 16", 3)
    assert got[0] == ("linked", "iPhone 16", 3, f"linked 'iPhone 16' at 3 to {link.product_id} ({link.merchant})")
    reasons = {decision for decision, *_ in got[1:]}
    assert {"too_close", "in_code"} <= reasons
    assert any(message.startswith("skipped '罗技K120' at 13: too_close (") for *_, message in got)
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "shoplink.linker")


@pytest.mark.parametrize("size", [1, 4, 50])
def test_a_stream_logs_each_decision_once_as_link_does(
    caplog: pytest.LogCaptureFixture, size: int
) -> None:
    linker = shoplink.Linker(shoplink.demo_catalog())
    with caplog.at_level(logging.DEBUG, logger="shoplink.linker"):
        linker.link(ANSWER)
        whole = decisions(caplog)
        caplog.clear()
        "".join(linker.stream([ANSWER[i : i + size] for i in range(0, len(ANSWER), size)]))
        assert decisions(caplog) == whole


def test_nothing_is_logged_per_decision_above_debug(caplog: pytest.LogCaptureFixture) -> None:
    linker = shoplink.Linker(shoplink.demo_catalog())
    with caplog.at_level(logging.INFO, logger="shoplink"):
        linker.link(ANSWER)
        "".join(linker.stream([ANSWER]))
    assert not [r for r in caplog.records if r.name == "shoplink.linker"]


def test_catalog_loads_and_index_builds_are_info(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "catalog.jsonl"
    rows = [product_row("a", ["产品甲"]), {"id": "bad"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    with caplog.at_level(logging.INFO, logger="shoplink"):
        catalog = shoplink.load_catalog(path, strict=False)
        index = shoplink.ProductIndex(catalog)
        index.save(tmp_path / "catalog.idx")
        shoplink.ProductIndex.load(tmp_path / "catalog.idx", catalog)
        shoplink.Catalog.from_merchants([])
    info = [(r.name, r.getMessage()) for r in caplog.records if r.levelno == logging.INFO]
    assert info[0] == (
        "shoplink.catalog",
        f"loaded catalog {path}: 1 product(s), 1 rejected row(s), 0 failed adapter(s)",
    )
    assert info[1][0] == "shoplink.index"
    assert info[1][1].startswith(f"built index of {path}: 1 keyword(s), 1 product(s), ")
    assert info[2][0] == "shoplink.index" and info[2][1].startswith("loaded index ")
    assert info[3][0] == "shoplink.catalog" and "loaded catalog merchants: 0 product(s)" in info[3][1]
    assert len(info) == 4


def test_small_catalog_helper_logs_too(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="shoplink.index"):
        shoplink.Linker(catalog_from_rows([product_row("a", ["产品甲"])]))
    assert [r.name for r in caplog.records] == ["shoplink.index"]
