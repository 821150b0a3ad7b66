"""The public surface: exactly what __all__ says, typed and documented."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import shoplink

ROOT = Path(__file__).resolve().parents[1]


def test_all_is_sorted_and_complete() -> None:
    public = {name for name in dir(shoplink) if not name.startswith("_")}
    assert set(shoplink.__all__) == public
    assert shoplink.__all__ == sorted(shoplink.__all__, key=lambda n: (not n.isupper(), n))


def test_every_public_name_has_a_docstring() -> None:
    for name in shoplink.__all__:
        obj = getattr(shoplink, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and inspect.isfunction(member):
                    assert inspect.getdoc(member), f"{name}.{attr} has no docstring"


def test_exceptions_form_one_tree_with_builtins() -> None:
    assert issubclass(shoplink.CatalogError, (shoplink.ShoplinkError, ValueError))
    assert issubclass(shoplink.AnswerError, ValueError)
    assert issubclass(shoplink.ConfigError, ValueError)
    assert issubclass(shoplink.LinkError, ValueError)


def test_package_is_typed() -> None:
    assert (Path(shoplink.__file__).parent / "py.typed").exists()


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
def test_mypy_strict_passes_on_library_and_user_code() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(ROOT / "src" / "shoplink"),
            str(ROOT / "tests" / "typing"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
def test_ruff_is_clean() -> None:
    targets = [d for d in ("src", "tests", "benchmarks") if (ROOT / d).is_dir()]
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *targets],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
