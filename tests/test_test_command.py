"""The README's test command (which ``.ci/run`` runs) runs in parallel and
stays deterministic."""

from __future__ import annotations

import os
import re
from pathlib import Path

import tomllib
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]


def readme_test_command() -> str:
    """The second ``sh`` block of the README's Quick start, as ``.ci/run`` reads it."""
    section = (ROOT / "README.md").read_text("utf-8").split("## Quick start", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)[1].strip()


def test_the_test_command_runs_on_every_core_with_xdist_installed() -> None:
    command = readme_test_command()
    assert command.endswith("python -m pytest -n auto"), command
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"][
        "optional-dependencies"
    ]["test"]
    assert any(req.startswith("pytest-xdist") for req in extra)


def test_hypothesis_draws_the_same_examples_in_every_worker() -> None:
    # conftest.py loads the derandomized profile in each xdist worker too
    # (unless a run asks for --hypothesis-profile=fuzz).
    if settings.get_current_profile_name() == "default":
        assert settings.default.derandomize and settings.default.database is None
    if os.environ.get("PYTEST_XDIST_WORKER"):
        assert settings.get_current_profile_name() in ("default", "fuzz")
