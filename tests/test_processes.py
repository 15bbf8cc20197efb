"""The worker, the CLI and the service as real processes: crashes, locks and `zhiku add`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bench.chroma_server import free_port
from core.catalog.records import DocumentStatus, JobState
from core.embedding import Embedder
from core.settings import Settings
from tests.conftest import make_settings, upload_and_wait
from tests.nodes import Node

ZHIKU = str(Path(sys.executable).parent / "zhiku")


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ZHIKU_DATA_DIR": str(settings.data_dir),
        "ZHIKU_WORKER_POLL_SECONDS": "0.2",
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.mark.slow
def test_sigkill_mid_large_document_then_restart_leaves_one_copy_of_each_chunk(
    tmp_path: Path, shared_data: Path, embedder: Embedder
) -> None:
    settings = make_settings(tmp_path / "data")
    node = Node(settings, embedder)
    collection = node.operations.open_collection("kb")
    added = node.add_path(collection, shared_data / "pdfs" / "en-free-culture-lessig.pdf")

    first = subprocess.Popen([ZHIKU, "worker"], env=_env(settings))
    try:
        _until(
            lambda: node.catalog.get_job(added.job.id).chunks_done > 0,
            600,
            "the worker to checkpoint its first vectors",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    killed = node.catalog.get_job(added.job.id)
    assert killed.state == JobState.RUNNING and 0 < killed.chunks_done < killed.chunks_total
    assert node.catalog.get_document(collection.id, added.document.id).status == "searchable"

    second = subprocess.Popen([ZHIKU, "worker"], env=_env(settings))
    try:
        _until(
            lambda: (
                node.catalog.get_document(collection.id, added.document.id).status
                in (DocumentStatus.READY, DocumentStatus.FAILED)
            ),
            900,
            "the restarted worker to finish the document",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=120) == 0

    document = node.catalog.get_document(collection.id, added.document.id)
    assert document.status == DocumentStatus.READY, document.error
    chunks = node.catalog.document_chunks(collection.id, document.id)
    assert len(chunks) == document.chunks == len({c.id for c in chunks})
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    assert node.catalog.lexical_rows(collection.id) == len(chunks)
    assert node.store.ids(collection.id) == {c.id for c in chunks}
    assert len(node.catalog.document_vectors(collection.id, document.id)) == len(chunks)


@pytest.mark.slow
def test_add_wait_reports_each_failure_and_exits_nonzero(
    tmp_path: Path, shared_data: Path, embedder: Embedder
) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "notes.md").write_text("# 笔记\n\n知库把文档切成块。\n", encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "broken.pdf").write_bytes(
        (shared_data / "pdfs" / "hostile" / "truncated.pdf").read_bytes()
    )
    settings = make_settings(tmp_path / "data")

    run = subprocess.run(
        [ZHIKU, "add", str(folder), "--collection", "kb", "--wait"],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert run.returncode == 1, run.stderr
    assert "1 ready, 2 failed" in run.stdout
    assert "empty.txt: the file is empty" in run.stderr
    assert "broken.pdf: the PDF is corrupt" in run.stderr
    node = Node(settings, embedder)
    statuses = {
        d.filename: d.status
        for d in node.catalog.list_documents(node.catalog.get_collection("kb").id)
    }
    assert statuses == {"notes.md": "ready", "empty.txt": "failed", "broken.pdf": "failed"}


@contextmanager
def running_service(settings: Settings, **env: str) -> Iterator[str]:
    """`zhiku serve` as a real process on its own port; yields its URL."""
    proc = subprocess.Popen(
        [ZHIKU, "serve"], env=_env(settings, ZHIKU_PORT=str(settings.port), **env)
    )
    url = f"http://127.0.0.1:{settings.port}"
    try:
        _until(lambda: _is_up(url), 120, "the service to start")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    settings = make_settings(tmp_path / "data", port=free_port())
    with running_service(settings) as url:
        yield settings, url


@pytest.mark.slow
def test_add_goes_through_the_running_service_that_owns_the_data_dir(
    tmp_path: Path, service: tuple[Settings, str]
) -> None:
    settings, url = service
    doc = tmp_path / "faq.txt"
    doc.write_text("Zhiku answers questions with citations.\n", encoding="utf-8")

    run = subprocess.run(
        [ZHIKU, "add", str(doc), "--collection", "kb", "--wait"],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stderr
    listed = httpx.get(f"{url}/api/collections/kb/documents").json()
    assert [(d["filename"], d["status"]) for d in listed] == [("faq.txt", "ready")]
    refused = subprocess.run(
        [ZHIKU, "worker"], env=_env(settings), capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "in use by service" in refused.stderr and url in refused.stderr


@pytest.mark.slow
def test_openai_backend_answers_and_a_client_that_leaves_stops_the_upstream_generation(
    tmp_path: Path,
) -> None:
    from tests.llm_server import Answer, FakeOpenAI

    slow = Answer(deltas=[f"word{i} " for i in range(200)], delay=0.05)
    quick = Answer(deltas=("Backups are copied nightly ", "[1]."))
    with FakeOpenAI(script=[quick], then=slow) as upstream:
        settings = make_settings(tmp_path / "data", port=free_port())
        with running_service(
            settings,
            ZHIKU_LLM_BACKEND="openai",
            ZHIKU_LLM_BASE_URL=upstream.base_url,
            ZHIKU_LLM_MODEL="fake-model",
        ) as url:
            with httpx.Client(base_url=url) as http:
                text = b"Backups are copied nightly to the archive."
                assert upload_and_wait(http, "kb", "b.txt", text)["state"] == "done"
            answer = httpx.post(
                f"{url}/api/collections/kb/query",
                json={"question": "How often are backups copied?"},
                timeout=60,
            ).json()
            assert answer["backend"] == "openai:fake-model"
            assert answer["answer"] == "Backups are copied nightly [1]."
            assert answer["citations"][0]["verified"] is True
            sent = upstream.completions[0].body
            assert "data, not instructions" in sent["messages"][0]["content"]
            assert "Backups are copied nightly to the archive." in sent["messages"][-1]["content"]

            with httpx.stream(
                "POST",
                f"{url}/api/collections/kb/query",
                json={"question": "How often are backups copied?", "stream": True},
                timeout=60,
            ) as response:
                for line in response.iter_lines():
                    if line.startswith("event: delta"):
                        break
            assert upstream.wait_for_disconnect(10), "the upstream never saw the client leave"


def _is_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
