"""The scale benchmark runs end to end at a tiny size and reports what it promises (no timing
checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.scale import KEYS
from core.stores import VECTOR_STORES


@pytest.mark.slow
@pytest.mark.parametrize("vector_store", VECTOR_STORES.keys())
def test_bench_scale_fills_queries_and_adds_in_the_embedded_mode(
    tmp_path: Path, vector_store: str
) -> None:
    command = ["-m", "bench.scale", "--chunks", "300", "--queries", "5", "--modes", "embedded"]
    command += ["--vector-store", vector_store]
    run = subprocess.run(
        [sys.executable, *command, "--work", str(tmp_path)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]

    lines = [json.loads(t) for t in run.stdout.splitlines() if t.startswith("{")]
    assert len(lines) == 1
    (result,) = lines
    assert set(KEYS) == set(result)
    assert (result["mode"], result["chunks"], result["documents"]) == ("embedded", 300, 15)
    assert result["vector_store"] == vector_store
    assert result["queries"] == 5
    for key in ("hybrid_p95_ms", "dense_p95_ms", "lexical_p95_ms", "add_1000_s", "rss_mb"):
        assert result[key] > 0, key
    assert result["chroma_rss_mb"] is None
    assert "| mode | vector_store | chunks |" in run.stdout  # the table
    assert not any(tmp_path.iterdir())  # not kept
