"""Settings come from ZHIKU_* variables and `.env`, and every one is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ZHIKU_PORT=9001\nZHIKU_CHUNK_TOKENS=150\n")
    monkeypatch.setenv("ZHIKU_PORT", "9002")
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.port == 9002 and settings.chunk_tokens == 150


def test_defaults_need_no_server() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.data_dir == Path("data") and settings.embedding_model == "multilingual-e5-small"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_overlap_not_smaller_than_chunk_is_refused() -> None:
    with pytest.raises(ValueError, match="ZHIKU_CHUNK_OVERLAP_TOKENS"):
        Settings(_env_file=None, chunk_tokens=64, chunk_overlap_tokens=64)  # type: ignore[call-arg]


def test_every_setting_is_in_env_example() -> None:
    documented = set(re.findall(r"ZHIKU_[A-Z_]+", (ROOT / ".env.example").read_text()))
    expected = {f"ZHIKU_{name.upper()}" for name in Settings.model_fields}
    assert expected == documented
