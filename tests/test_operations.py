"""Operating the service: Prometheus metrics, request ids, JSON logs, and a worker that stops
cleanly on SIGTERM, with real processes where it matters."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.request_id import is_sane
from bench.chroma_server import free_port
from core.catalog.records import JobState
from core.logging_setup import build_handler, request_id
from core.settings import Settings
from tests.conftest import make_settings, upload_and_wait
from tests.nodes import Node

ZHIKU = str(Path(sys.executable).parent / "zhiku")
DOC = "# 备份\n\n每天夜里备份数据目录。\n\n# Backup\n\nBack up the data directory every night.\n"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path / "data"))) as client:
        yield client


def test_metrics_count_requests_by_route_template_jobs_and_answer_latency(
    client: TestClient,
) -> None:
    before = _samples(client.get("/metrics").text)
    job = upload_and_wait(client, "kb", "backup.md", DOC.encode())
    assert job["state"] == "done"
    client.get("/api/collections/kb/documents/no-such-document")
    client.get("/no/such/path")
    answer = client.post("/api/collections/kb/query", json={"question": "How often is backup?"})
    assert answer.status_code == 200
    streamed = client.post(
        "/api/collections/kb/query", json={"question": "How often is backup?", "stream": True}
    )
    assert "event: done" in streamed.text

    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    after = _samples(response.text)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    route = "/api/collections/{name}/documents"
    assert grew("zhiku_http_requests_total", method="POST", route=route, status="202") == 1
    assert (
        grew(
            "zhiku_http_requests_total",
            method="GET",
            route="/api/collections/{name}/documents/{document_id}",
            status="404",
        )
        == 1
    )
    assert grew("zhiku_http_requests_total", method="GET", route="unmatched", status="404") == 1
    # Raw paths never become labels.
    assert "no-such-document" not in response.text and "/no/such/path" not in response.text
    assert grew("zhiku_http_request_duration_seconds_count", method="POST", route=route) == 1
    query = "/api/collections/{name}/query"
    assert grew("zhiku_http_requests_total", method="POST", route=query, status="200") == 2
    assert grew("zhiku_pages_ingested_total") >= 1
    assert grew("zhiku_chunks_ingested_total") >= 1
    assert grew("zhiku_retrieval_seconds_count") == 2
    assert grew("zhiku_generation_seconds_count") == 2
    assert after[("zhiku_jobs", (("state", "done"),))] == 1
    assert after[("zhiku_jobs", (("state", "queued"),))] == 0
    assert after[("zhiku_queue_depth", ())] == 0


def test_queue_depth_counts_jobs_waiting_in_the_catalog(tmp_path: Path) -> None:
    # No worker in the service: the jobs stay queued.
    settings = make_settings(tmp_path / "data", serve_worker=False)
    with TestClient(create_app(settings)) as client:
        client.post("/api/collections", json={"name": "kb"})
        files = [("files", (f"n{n}.md", f"note {n}".encode())) for n in range(3)]
        assert client.post("/api/collections/kb/documents", files=files).status_code == 202
        after = _samples(client.get("/metrics").text)
    assert after[("zhiku_queue_depth", ())] == 3
    assert after[("zhiku_jobs", (("state", "queued"),))] == 3


def test_request_id_is_honoured_when_sane_and_generated_otherwise(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc:7"})
    assert given.headers["X-Request-ID"] == "lb-1234.abc:7"
    for bad in ("has spaces", "x" * 200, "", '"}{"level":"ERROR'):
        returned = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert returned != bad and len(returned) == 32
    generated = client.get("/api/collections/missing").headers["X-Request-ID"]
    assert is_sane(generated)
    assert client.get("/healthz").headers["X-Request-ID"] != generated


def test_json_log_lines_carry_time_level_logger_message_and_request_id() -> None:
    stream = io.StringIO()
    handler = build_handler("json")
    handler.setStream(stream)  # type: ignore[attr-defined]
    logger = logging.getLogger("zhiku.test-json")
    logger.addHandler(handler)
    logger.propagate = False
    token = request_id.set("req-1")
    try:
        logger.warning("文档 %s 失败", "a.pdf")
    finally:
        request_id.reset(token)
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["message"] == "文档 a.pdf 失败"
    assert line["level"] == "WARNING" and line["logger"] == "zhiku.test-json"
    assert line["request_id"] == "req-1" and line["time"].startswith("20")


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ZHIKU_DATA_DIR": str(settings.data_dir),
        "ZHIKU_WORKER_POLL_SECONDS": "0.2",
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


@pytest.mark.slow
def test_service_writes_json_logs_with_the_request_id_of_each_request(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", port=free_port())
    log_path = tmp_path / "service.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [ZHIKU, "serve"],
            env=_env(settings, ZHIKU_PORT=str(settings.port), ZHIKU_LOG_FORMAT="json"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{settings.port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "service did not start"
            time.sleep(0.2)
        response = httpx.get(f"{url}/api/collections", headers={"X-Request-ID": "trace-42"})
        assert response.headers["X-Request-ID"] == "trace-42"
    finally:
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down, then re-raises the signal, so the status is -SIGTERM.
        proc.wait(timeout=60)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert lines, "the service wrote no log lines"
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert any(
        line["request_id"] == "trace-42" and "/api/collections" in line["message"]
        for line in access
    )


@pytest.mark.slow
def test_worker_on_sigterm_finishes_its_work_in_hand_and_exits_zero(
    tmp_path: Path, shared_data: Path
) -> None:
    settings = make_settings(tmp_path / "data")
    node = Node(settings)
    try:
        collection = node.operations.open_collection("kb")
        added = node.add_path(collection, shared_data / "pdfs" / "en-ethereum-yellowpaper.pdf")
        worker = subprocess.Popen(
            [ZHIKU, "worker"], env=_env(settings), stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 120
        while node.catalog.get_job(added.job.id).state == JobState.QUEUED:
            assert worker.poll() is None and time.monotonic() < deadline, "no job was claimed"
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=300)
        assert worker.returncode == 0, stderr
        assert "stopping: no new jobs are claimed" in stderr
        # Nothing is left held by the stopped worker: the job is done or back in the queue.
        job = node.catalog.get_job(added.job.id)
        assert job.state in (JobState.DONE, JobState.QUEUED), job
    finally:
        node.stop()
