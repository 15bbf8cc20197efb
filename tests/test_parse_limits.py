"""Parsing that cannot hurt the rest: a document over the memory cap or the time limit fails
alone, at once, with a reason, and is not retried; a cancel stops its parse within seconds; a
stopping worker gives its parse back uncharged and the next one continues from the page the
first reached; a crashed parser is charged to its document."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from bench.hostile import docx_bomb
from core.catalog import open_catalog
from core.catalog.records import DocumentStatus, JobStage, JobState
from ingest.checkpoint import checkpoint_dir
from tests.conftest import drain, make_settings
from tests.nodes import Node

GOOD = "# 知库\n\n文档问答服务，带引用的回答。\n\nSelf-hosted document question answering.\n"
LONG_PDF = "en-free-culture-lessig.pdf"  # 352 pages


def _wait_for_pages(node: Node, job_id: str, at_least: int = 1) -> None:
    deadline = time.monotonic() + 120
    while node.catalog.get_job(job_id).pages_done < at_least:
        assert time.monotonic() < deadline, "the parser never reported a page"
        time.sleep(0.05)


def test_a_document_over_the_memory_cap_fails_alone_at_once(
    node_factory: Callable[..., Node],
) -> None:
    node = node_factory(parse_processes=1, parse_memory_mb=256)
    collection = node.operations.open_collection("kb")
    bomb = node.add_bytes(collection, "bomb.docx", docx_bomb(xml_mb=60))
    good = node.add_bytes(collection, "good.md", GOOD.encode())

    assert node.worker.run_once()

    job = node.catalog.get_job(bomb.job.id)
    assert job.state == JobState.FAILED, job
    assert "needs more than 256 MB of memory to read" in (job.error or "")
    # The reason crossed from the parser process with its code and parameters.
    assert job.error_code == "parse_memory_limit" and job.error_params == {"memory_mb": 256}
    assert job.attempts == 1 and job.failures == 1  # failed at once, not tried again
    document = node.catalog.get_document(collection.id, good.document.id)
    assert document.status in (DocumentStatus.SEARCHABLE, DocumentStatus.READY)
    drain(node)
    document = node.catalog.get_document(collection.id, good.document.id)
    assert document.status == DocumentStatus.READY


def test_a_document_over_the_time_limit_fails_alone_in_a_process(
    node_factory: Callable[..., Node], shared_data: Path
) -> None:
    node = node_factory(parse_processes=1, parse_timeout_seconds=1.5)
    collection = node.operations.open_collection("kb")
    slow = node.add_path(collection, shared_data / "pdfs" / LONG_PDF)
    good = node.add_bytes(collection, "good.md", GOOD.encode())
    started = time.monotonic()

    assert node.worker.run_once()

    job = node.catalog.get_job(slow.job.id)
    assert job.state == JobState.FAILED and job.failures == 1, job
    assert "took longer than 1.5 s to read" in (job.error or "")
    assert job.error_code == "parse_time_limit" and job.error_params == {"seconds": 1.5}
    assert node.catalog.get_job(good.job.id).stage == JobStage.EMBED
    assert time.monotonic() - started < 60
    assert not any(checkpoint_dir(node.settings.blob_path).glob("*"))


def test_in_the_workers_own_process_the_time_limit_is_checked_between_pages(
    node_factory: Callable[..., Node], shared_data: Path
) -> None:
    node = node_factory(parse_processes=0, parse_timeout_seconds=1)
    collection = node.operations.open_collection("kb")
    slow = node.add_path(collection, shared_data / "pdfs" / LONG_PDF)

    assert node.worker.run_once()

    job = node.catalog.get_job(slow.job.id)
    assert job.state == JobState.FAILED and "took longer than 1 s" in (job.error or "")


def test_cancelling_a_job_stops_its_parse_within_seconds(
    node_factory: Callable[..., Node], shared_data: Path
) -> None:
    node = node_factory(parse_processes=1)
    collection = node.operations.open_collection("kb")
    added = node.add_path(collection, shared_data / "pdfs" / LONG_PDF)
    node.parse_pool.start()
    worker = threading.Thread(target=node.worker.run_once)
    worker.start()
    _wait_for_pages(node, added.job.id)

    node.operations.cancel_job(added.job.id)
    cancelled = time.monotonic()
    worker.join(timeout=30)

    # run_once returns once every parse it started ended: this one stopped at the cancel.
    assert not worker.is_alive() and time.monotonic() - cancelled < 5
    job = node.catalog.get_job(added.job.id)
    assert job.state == JobState.CANCELLED and job.pages_done < 352
    assert not any(checkpoint_dir(node.settings.blob_path).glob("*"))


@pytest.mark.slow
def test_a_stopping_worker_gives_the_parse_back_and_the_next_continues_from_its_page(
    node_factory: Callable[..., Node], shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = node_factory(parse_processes=1)
    collection = first.operations.open_collection("kb")
    added = first.add_path(collection, shared_data / "pdfs" / LONG_PDF)
    first.start_worker(sole_owner=True)
    _wait_for_pages(first, added.job.id, at_least=20)
    stopping = time.monotonic()
    first.worker_thread.stop()
    assert time.monotonic() - stopping < 5  # given back at once, not parsed to its end

    job = first.catalog.get_job(added.job.id)
    assert job.state == JobState.QUEUED and job.failures == 0 and job.attempts == 1
    assert checkpoint_dir(first.settings.blob_path).joinpath(f"{job.id}.jsonl").exists()

    second = Node(first.settings, first.embedder)  # a new process's worker, same data
    try:
        with caplog.at_level("INFO", logger="zhiku.worker"):
            assert second.worker.run_once()
        document = second.catalog.get_document(collection.id, added.document.id)
        assert second.catalog.get_job(added.job.id).failures == 0
    finally:
        second.stop()
    assert document.status == DocumentStatus.SEARCHABLE and document.pages == 352
    resumed = [r.getMessage() for r in caplog.records if "continued from page" in r.getMessage()]
    assert resumed and "from page 1 of" not in resumed[0], resumed
    assert not any(checkpoint_dir(first.settings.blob_path).glob("*"))


@pytest.mark.slow
def test_a_parser_that_crashes_is_charged_to_its_document(
    node_factory: Callable[..., Node], shared_data: Path
) -> None:
    node = node_factory(parse_processes=1, job_max_attempts=2)
    collection = node.operations.open_collection("kb")
    added = node.add_path(collection, shared_data / "pdfs" / LONG_PDF)
    for failures in (1, 2):
        node.parse_pool.start()
        reached = node.catalog.get_job(added.job.id).pages_done
        worker = threading.Thread(target=node.worker.run_once)
        worker.start()
        _wait_for_pages(node, added.job.id, at_least=reached + 1)
        for child in multiprocessing.active_children():
            assert child.pid is not None
            os.kill(child.pid, signal.SIGKILL)
        worker.join(timeout=60)
        job = node.catalog.get_job(added.job.id)
        assert job.failures == failures and job.attempts == failures
    assert job.state == JobState.FAILED
    assert "parser process died" in (job.error or "") and "2 times" in (job.error or "")
    assert job.error_code == "parser_killed"
    assert job.error_params == {"signal": "SIGKILL", "failures": 2}


def test_readiness_fails_while_a_running_job_makes_no_progress(tmp_path: Path) -> None:
    """As in scale-out, where the workers are other processes: the catalog tells."""
    settings = make_settings(tmp_path / "data", serve_worker=False, worker_stall_seconds=0.5)
    with TestClient(create_app(settings)) as client:
        client.post("/api/collections", json={"name": "kb"})
        sent = client.post(
            "/api/collections/kb/documents", files=[("files", ("good.md", GOOD.encode()))]
        )
        job_id = sent.json()[0]["job"]["id"]
        catalog = open_catalog(settings)
        try:
            assert catalog.claim_jobs(JobStage.PARSE, "stuck-worker", 60, 3)
        finally:
            catalog.close()
        time.sleep(0.7)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        jobs = ready.json()["checks"]["jobs"]
        assert jobs.startswith("stalled: 1 running job(s)") and job_id in jobs, jobs


def test_a_text_embedded_before_takes_its_stored_vector_instead_of_being_embedded_again(
    node: Node,
) -> None:
    """The embedding cache a restarted job relies on: vectors found by text hash
    (the chunks_by_text index). A marked vector shows it was reused, not recomputed."""
    collection = node.operations.open_collection("kb")
    first = node.add_bytes(collection, "first.md", GOOD.encode())
    drain(node)
    stored = node.catalog.document_vectors(collection.id, first.document.id)[0][1]
    # The opposite direction: a valid vector the embedder would never give this text.
    marked = (-np.frombuffer(stored, dtype=np.float16)).tobytes()
    with node.catalog.transaction() as db:
        db.execute("UPDATE chunks SET vector=? WHERE document_id=?", (marked, first.document.id))

    again = node.add_bytes(collection, "again.md", GOOD.encode() + b"\n")
    drain(node)

    vectors = node.catalog.document_vectors(collection.id, again.document.id)
    assert vectors and all(vector == marked for _, vector, _, _ in vectors)


@pytest.mark.slow
def test_documents_beside_a_long_parse_become_ready_without_waiting_for_it(
    node_factory: Callable[..., Node], shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A parse counts as long sooner than in service, so the 352 pages last well past it
    # however fast this machine parses.
    monkeypatch.setattr("ingest.parse._LONG_PARSE_S", 0.5)
    node = node_factory(parse_processes=2)
    collection = node.operations.open_collection("kb")
    long = node.add_path(collection, shared_data / "pdfs" / LONG_PDF)
    good = node.add_bytes(collection, "good.md", GOOD.encode())
    node.parse_pool.start()
    worker = threading.Thread(target=node.worker.run_once)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while node.catalog.get_document(collection.id, good.document.id).status != "ready":
            assert worker.is_alive(), "the long parse ended before the good document was ready"
            assert time.monotonic() < deadline, "the good document never became ready"
            time.sleep(0.1)
        assert node.catalog.get_job(long.job.id).stage == JobStage.PARSE  # still parsing
    finally:
        worker.join(timeout=300)
    assert node.catalog.get_job(long.job.id).stage == JobStage.EMBED
