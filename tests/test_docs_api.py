"""``docs/api.md`` says what the code has: every public name, every exception,
every option of every command."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import shoplink
from shoplink._cli import _parser

API = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def api_text() -> str:
    return API.read_text("utf-8")


def commands(
    parser: argparse.ArgumentParser, prefix: str = "shoplink"
) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every runnable command (``"shoplink index build"``, ...) with its parser."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(prefix, parser)]
    out = []
    for sub in subs:
        for name, child in sub.choices.items():
            out.extend(commands(child, f"{prefix} {name}"))
    return out


def table_row(command: str) -> str:
    """The first cell of the command table's row for ``command``."""
    for line in api_text().splitlines():
        cell = line.split(" | ")[0].removeprefix("| ").strip("`")
        if cell == command or cell.startswith(command + " "):
            return cell
    raise AssertionError(f"docs/api.md's command table has no row for {command!r}")


COMMANDS = commands(_parser())


def test_the_parser_has_the_commands_we_expect() -> None:
    names = [name for name, _ in COMMANDS]
    assert "shoplink index build" in names and "shoplink link" in names and len(names) >= 6


@pytest.mark.parametrize(("command", "parser"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_every_option_is_in_the_command_table(
    command: str, parser: argparse.ArgumentParser
) -> None:
    row = table_row(command)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if action.option_strings:
            longest = max(action.option_strings, key=len)
            assert re.search(rf"{re.escape(longest)}\b", row), f"{command}: {longest} not documented"
        else:
            assert (action.metavar or action.dest) in row, f"{command}: {action.metavar} missing"


def test_every_public_name_is_in_the_api_page() -> None:
    text = api_text()
    missing = [name for name in shoplink.__all__ if not re.search(rf"\b{name}\b", text)]
    assert not missing, f"docs/api.md does not name {missing}"


def test_the_error_tree_has_every_exception() -> None:
    tree = api_text().split("## Errors", 1)[1].split("```")[1]
    errors = [
        name
        for name in shoplink.__all__
        if isinstance(getattr(shoplink, name), type)
        and issubclass(getattr(shoplink, name), shoplink.ShoplinkError)
    ]
    for name in errors:
        bases = ", ".join(b.__name__ for b in getattr(shoplink, name).__bases__)
        assert f"{name}({bases})" in tree or name == "ShoplinkError", name
    assert "ShoplinkError(Exception)" in tree


@pytest.mark.parametrize("adapter", [shoplink.TaobaoUnionExport, shoplink.JDUnionExport])
def test_merchants_page_names_the_export_columns_as_headers(adapter: type) -> None:
    # A column named in docs/merchants.md must be a header the adapter accepts
    # as written: "商品ID (SKU)" was not, and a file with it failed.
    page = (API.parent / "merchants.md").read_text("utf-8")
    row = next(line for line in page.splitlines() if line.startswith(f"| `{adapter.__name__}` |"))
    listed = row.split(" | ")[2].removeprefix("columns ").split(";")[0].split(", ")
    accepted = {name for names in adapter.layout.columns.values() for name in names}
    assert listed and not [name for name in listed if name not in accepted]
