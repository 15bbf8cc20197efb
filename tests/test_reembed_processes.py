"""Re-embedding with real processes: through the API of a running `zhiku serve`, answering
questions before, during and after, across a SIGKILL and a restart of the service; and
`zhiku reembed --wait` running it in its own process when no service owns the data."""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import UNLIMITED, ZHIKU, ZhikuProcesses, wait_until

E5 = "multilingual-e5-small"
MINILM = "all-MiniLM-L6-v2"
# Ports of this test file's own range.
PORT = 18631
BACKUP = ("backup.txt", "备份每天晚上复制到第二个数据中心。")
# No word of the passage: the fused ranking needs a dense side that reads Chinese.
PARAPHRASE = "数据的副本什么时候送到另一个机房？"


def _filler(n: int) -> str:
    """Sentences enough for a few hundred chunks of 32 word pieces."""
    return "\n\n".join(
        f"Note {i}: the warehouse on street {i} counts {i * 7} boxes of paper and ink."
        for i in range(n)
    )


def _env(data: Path) -> dict[str, str]:
    return {
        "ZHIKU_DATA_DIR": str(data),
        "ZHIKU_WORKER_POLL_SECONDS": "0.2",
        # Named, so the tests hold whichever model is the default.
        "ZHIKU_EMBEDDING_MODEL": MINILM,
    }


def _upload(client: httpx.Client, filename: str, text: str) -> None:
    response = client.post(
        "/api/collections/kb/documents", files=[("files", (filename, text.encode()))]
    )
    assert response.status_code == 202, response.text


def _status(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/api/collections/kb/reembed")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _answers(client: httpx.Client, question: str) -> list[str]:
    response = client.post("/api/collections/kb/query", json={"question": question})
    assert response.status_code == 200, response.text
    return [c["filename"] for c in response.json()["chunks"]]


@pytest.mark.slow
def test_the_api_reembeds_while_queries_answer_and_a_killed_service_continues_after_restart(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with ZhikuProcesses() as processes, ExitStack() as clients:
        first = processes.service("service", _env(data), data, PORT).wait_ready()
        client = clients.enter_context(httpx.Client(base_url=first.url or "", timeout=120))
        created = client.post("/api/collections", json={"name": "kb", "chunk_tokens": 32})
        assert created.status_code == 201 and created.json()["embedding_model"] == MINILM
        _upload(client, *BACKUP)
        _upload(client, "warehouse.txt", _filler(400))
        wait_until(
            lambda: all(
                d["status"] == "ready" for d in client.get("/api/collections/kb/documents").json()
            ),
            300,
            "the documents to be ready",
        )
        assert _answers(client, "warehouse on street 12")[0] == "warehouse.txt"

        started = client.post("/api/collections/kb/reembed", json={"model": E5})
        assert started.status_code == 202, started.text
        assert (started.json()["state"], started.json()["target_model"]) == ("running", E5)
        again = client.post("/api/collections/kb/reembed", json={"model": E5})
        assert again.status_code == 409
        wait_until(lambda: _status(client)["chunks_done"] >= 32, 300, "some chunks re-embedded")
        during = _status(client)
        assert during["state"] == "running" and during["chunks_done"] < during["chunks_total"]
        assert during["embedding_model"] == MINILM
        assert _answers(client, "warehouse on street 12")[0] == "warehouse.txt"
        first.kill_group()
        done_before_kill = during["chunks_done"]

        second = processes.service("restarted", _env(data), data, PORT).wait_ready()
        status = _status(client)
        # Nothing done before the kill was lost, and the old model still answers.
        assert status["state"] == "running" and status["chunks_done"] >= done_before_kill
        assert status["embedding_model"] == MINILM
        assert _answers(client, "warehouse on street 12")[0] == "warehouse.txt"
        wait_until(lambda: _status(client)["state"] == "idle", 600, "the switch")

        after = client.get("/api/collections/kb").json()
        assert after["embedding_model"] == E5
        assert _answers(client, PARAPHRASE)[0] == BACKUP[0]
        assert _answers(client, "warehouse on street 12")[0] == "warehouse.txt"
        assert client.delete("/api/collections/kb/reembed").status_code == 404
        # The CLI goes through the service that owns the data directory.
        shown = subprocess.run(
            [ZHIKU, "reembed", "--collection", "kb", "--status"],
            env={**os.environ, **UNLIMITED, "HF_HUB_OFFLINE": "1", **_env(data)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shown.returncode == 0, shown.stderr
        assert f"idle; model {E5}" in shown.stdout
        second.stop()


@pytest.mark.slow
def test_zhiku_reembed_wait_runs_it_here_when_no_service_owns_the_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = tmp_path / BACKUP[0]
    source.write_text(BACKUP[1], encoding="utf-8")
    (tmp_path / "menu.txt").write_text("这家餐厅的招牌菜是红烧肉和清蒸鱼。", encoding="utf-8")
    env = {**os.environ, **UNLIMITED, "HF_HUB_OFFLINE": "1", **_env(data)}

    def zhiku(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ZHIKU, *args], env=env, cwd=data, capture_output=True, text=True, timeout=300
        )

    data.mkdir()
    added = zhiku("add", str(source), str(tmp_path / "menu.txt"), "-c", "kb", "--wait")
    assert added.returncode == 0, added.stderr
    assert "idle; model " + MINILM in zhiku("reembed", "-c", "kb", "--status").stdout
    # Recorded for a worker to do; cancelled before any did it.
    recorded = zhiku("reembed", "-c", "kb", "--model", E5)
    assert recorded.returncode == 0 and "`zhiku serve` or `zhiku worker`" in recorded.stdout
    assert f"{MINILM} → {E5}, 0/2 chunks" in zhiku("reembed", "-c", "kb", "--status").stdout
    assert zhiku("reembed", "-c", "kb", "--cancel").returncode == 0
    assert "idle; model " + MINILM in zhiku("reembed", "-c", "kb", "--status").stdout

    ran = zhiku("reembed", "-c", "kb", "--model", E5, "--wait")

    assert ran.returncode == 0, ran.stderr
    assert f"idle; model {E5}" in ran.stdout
    refused = zhiku("reembed", "-c", "kb", "--model", E5)
    assert refused.returncode == 2 and "already uses" in refused.stderr
    asked = zhiku("ask", "kb", PARAPHRASE, "--json")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["chunks"][0]["filename"] == BACKUP[0]
