"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The third-party test files in ../shared/data (see its MANIFEST.md)."""
    return Path(__file__).resolve().parents[2] / "shared" / "data"
