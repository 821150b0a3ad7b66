"""The shape of the package: imports run one way, and docs/architecture.md is true.

Every import among shoplink's modules counts, wherever it stands: at the top,
inside a function, or under ``if TYPE_CHECKING:`` (a cycle that exists only
for the type checker still ties the two modules together).  Issue 15.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import shoplink

PACKAGE = Path(shoplink.__file__).resolve().parent
DOCS = Path(__file__).resolve().parents[1] / "docs"


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``source`` (the text of ``module``) imports.

    ``from .x import name`` counts as an import of ``x.name`` when that is
    a module, else of ``x``.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            names = [
                f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in known else stem
                for alias in node.names
            ]
        else:
            continue
        found.update(name for name in names if name in known and name != module)
    return found


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    return {
        module: imports_of(path.read_text(encoding="utf-8"), module, path.name == "__init__.py", known)
        for module, path in files.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph``: one path per strongly connected group (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_import_cycle_among_shoplink_modules() -> None:
    graph = import_graph()
    found = cycles(graph)
    explained = [
        "; ".join(f"{a} -> {b}" for a in group for b in sorted(graph[a] & set(group)))
        for group in found
    ]
    assert not found, "import cycles:\n" + "\n".join(explained)


def test_the_graph_reads_every_kind_of_import() -> None:
    known = {"pkg", "pkg._a", "pkg._b", "pkg._c", "pkg._d", "pkg._sub", "pkg._sub._e"}
    source = (
        "from typing import TYPE_CHECKING\n"
        "from ._a import thing\n"
        "import pkg._b\n"
        "from . import _sub\n"
        "if TYPE_CHECKING:\n"
        "    from ._c import Other\n"
        "def later():\n"
        "    from ._d import late\n"
        "    from ._sub._e import deep\n"
    )
    assert imports_of(source, "pkg._x", False, known) == {
        "pkg._a",
        "pkg._b",
        "pkg._sub",
        "pkg._c",
        "pkg._d",
        "pkg._sub._e",
    }
    assert imports_of("from .._a import x\nfrom . import _e", "pkg._sub", True, known) == {
        "pkg._a",
        "pkg._sub._e",
    }


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_the_package() -> None:
    graph = import_graph()
    assert "shoplink._stream" in graph["shoplink._linker"]
    assert "shoplink._judge._advice" in graph["shoplink._linker"]
    assert "shoplink._merchants" in graph["shoplink._catalog"]


# A module named in backquotes: `_index`, `_judge._advice`, `_markdown.py`.
_MODULE_NAME = re.compile(r"`(?:shoplink\.)?(_[a-z][a-z0-9_]*(?:\._[a-z][a-z0-9_]*)?)(?:\.py)?`")


def test_every_module_named_in_architecture_md_exists() -> None:
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    named = set(_MODULE_NAME.findall(text))
    assert len(named) >= 15, named
    modules = set(module_files())
    missing = sorted(name for name in named if f"shoplink.{name}" not in modules)
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_the_floors_in_architecture_md_match_the_imports() -> None:
    """Each row of the drawing imports only from the rows below it (``_judge.*`` is ``_judge``)."""
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Which way imports run", 1)[1]
    drawing = section.split("```", 2)[1]
    rows = [re.findall(r"\b_[a-z]+\b", line) for line in drawing.splitlines()]
    floor = {name: -n for n, row in enumerate(rows) for name in row if row}

    def drawn(module: str) -> str:
        return module.removeprefix("shoplink.").split(".")[0]

    graph = import_graph()
    inside = {m for m in graph if m.startswith("shoplink._") and m != "shoplink.__main__"}
    assert {drawn(m) for m in inside} == set(floor)
    for module in inside:
        for target in graph[module]:
            if drawn(target) != drawn(module):
                assert floor[drawn(target)] < floor[drawn(module)], (module, target)
