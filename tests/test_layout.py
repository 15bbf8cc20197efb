"""The tree stays readable by a newcomer: every module says why it exists in its first line,
and none grows past a size one can hold in mind (split it by job instead)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "cli", "core", "ingest")
MAX_LINES = 400

MODULES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_the_packages_hold_modules() -> None:
    assert len(MODULES) > 50


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_has_a_docstring_and_stays_under_the_size_limit(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert ast.get_docstring(ast.parse(source)), f"{path.name} has no module docstring"
    lines = source.count("\n")
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines; split it by job"
