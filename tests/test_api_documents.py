"""Collections, uploads, documents and jobs over HTTP, with the lifespan and its worker."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings


@pytest.fixture
def client(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    # On each catalog for a test that uses `catalog_url`, else on SQLite.
    database = (
        {"database_url": request.getfixturevalue("catalog_url")}
        if "catalog_url" in request.fixturenames
        else {}
    )
    settings = make_settings(tmp_path / "data", max_upload_mb=1, **database)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _wait_for_job(client: TestClient, job_id: str, timeout: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, object] = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_upload_of_several_files_returns_a_job_each_and_they_become_ready(
    client: TestClient,
) -> None:
    assert client.post("/api/collections", json={"name": "kb"}).status_code == 201
    files = [
        ("files", ("a.md", "# 标题\n\n知库支持中文。".encode(), "text/markdown")),
        ("files", ("b.txt", b"Plain English text about retrieval.", "text/plain")),
    ]
    response = client.post("/api/collections/kb/documents", files=files)
    assert response.status_code == 202
    accepted = response.json()
    assert [a["created"] for a in accepted] == [True, True]
    for item in accepted:
        job = _wait_for_job(client, item["job"]["id"])
        assert job["state"] == "done"
        assert job["progress"] == {
            "pages_done": 1,
            "pages_total": 1,
            "chunks_embedded": job["progress"]["chunks_total"],  # type: ignore[index]
            "chunks_total": job["progress"]["chunks_total"],  # type: ignore[index]
        }
    listed = client.get("/api/collections/kb/documents").json()
    assert {d["filename"]: d["status"] for d in listed} == {"a.md": "ready", "b.txt": "ready"}
    assert set(listed[0]) >= {"id", "filename", "status", "error", "pages", "chunks", "size"}

    again = client.post("/api/collections/kb/documents", files=files[:1]).json()
    assert (
        again[0]["created"] is False and again[0]["document"]["id"] == accepted[0]["document"]["id"]
    )
    collections = client.get("/api/collections").json()
    assert collections[0]["documents"] == 2 and collections[0]["chunks"] >= 2


def test_unsupported_and_oversized_uploads_are_refused_and_store_nothing(
    client: TestClient,
) -> None:
    client.post("/api/collections", json={"name": "kb"})
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes(100)
    refused = client.post(
        "/api/collections/kb/documents",
        files=[
            ("files", ("ok.txt", b"fine", "text/plain")),
            ("files", ("x.pdf", gif, "application/pdf")),
        ],
    )
    assert refused.status_code == 415
    assert refused.json()["error"]["code"] == "unsupported_type"
    assert refused.json()["error"]["params"] == {"media_type": "image/gif", "file": "x.pdf"}
    too_big = client.post(
        "/api/collections/kb/documents",
        files=[("files", ("big.txt", b"a " * 600_000, "text/plain"))],
    )
    assert too_big.status_code == 413 and "limit" in too_big.json()["error"]["message"]
    assert client.get("/api/collections/kb/documents").json() == []


def test_hostile_filename_is_stored_as_given_and_never_touches_the_filesystem(
    client: TestClient, tmp_path: Path
) -> None:
    client.post("/api/collections", json={"name": "kb"})
    # httpx percent-encodes control characters in multipart names (the intake tests send them
    # raw); path separators and non-ASCII travel as they are.
    name = "../../evil/知库 name.txt"
    accepted = client.post(
        "/api/collections/kb/documents", files=[("files", (name, b"harmless text", "text/plain"))]
    ).json()
    document = client.get(f"/api/collections/kb/documents/{accepted[0]['document']['id']}").json()
    assert document["filename"] == name
    assert not any("evil" in p.name for p in tmp_path.rglob("*"))


def test_deleting_a_document_then_fetching_it_is_404(client: TestClient) -> None:
    client.post("/api/collections", json={"name": "kb"})
    accepted = client.post(
        "/api/collections/kb/documents", files=[("files", ("a.txt", b"some words", "text/plain"))]
    ).json()
    _wait_for_job(client, accepted[0]["job"]["id"])
    doc_id = accepted[0]["document"]["id"]
    assert client.delete(f"/api/collections/kb/documents/{doc_id}").status_code == 204
    missing = client.get(f"/api/collections/kb/documents/{doc_id}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "document_not_found"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/api/collections/nope/documents", {}, 404),
        ("post", "/api/collections", {"json": {}}, 422),
        ("post", "/api/collections", {"json": {"name": ""}}, 422),
        ("post", "/api/collections", {"content": b"not json"}, 422),
        ("post", "/api/collections/kb/documents", {}, 422),
        ("get", "/api/jobs/unknown", {}, 404),
    ],
)
def test_bad_requests_get_a_json_error_never_a_500(
    client: TestClient, method: str, path: str, kwargs: dict[str, object], status: int
) -> None:
    client.post("/api/collections", json={"name": "kb"})
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "params"}


def test_creating_a_collection_twice_is_a_conflict(client: TestClient) -> None:
    assert client.post("/api/collections", json={"name": "kb"}).status_code == 201
    again = client.post("/api/collections", json={"name": "kb"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "collection_exists"


@pytest.mark.usefixtures("catalog_url")
def test_a_failed_job_can_be_retried_and_a_finished_one_cannot_be_cancelled(
    client: TestClient, shared_data: Path
) -> None:
    client.post("/api/collections", json={"name": "kb"})
    broken = (shared_data / "pdfs" / "hostile" / "truncated.pdf").read_bytes()
    accepted = client.post(
        "/api/collections/kb/documents",
        files=[("files", ("broken.pdf", broken, "application/pdf"))],
    ).json()
    failed = _wait_for_job(client, accepted[0]["job"]["id"])
    assert failed["state"] == "failed" and "corrupt" in str(failed["error"])

    retried = client.post(f"/api/jobs/{failed['id']}/retry")
    assert retried.status_code == 202 and retried.json()["state"] == "queued"
    again = _wait_for_job(client, retried.json()["id"])
    assert again["state"] == "failed"  # the same bytes are still broken, and say so again
    stale = client.post(f"/api/jobs/{failed['id']}/retry")
    assert stale.status_code == 409 and "already retried" in stale.json()["error"]["message"]
    refused = client.post(f"/api/jobs/{again['id']}/cancel")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "job_not_cancellable"


def test_cancelling_a_queued_job_fails_its_document_with_no_chunks(
    tmp_path: Path, catalog_url: str | None
) -> None:
    from tests.nodes import Node

    settings = make_settings(tmp_path / "data", database_url=catalog_url)
    node = Node(settings)
    collection = node.operations.open_collection("kb")
    added = node.add_bytes(collection, "a.txt", b"Some words to index.")
    cancelled = node.catalog.cancel_job(added.job.id)
    assert cancelled.state == "cancelled"
    document = node.catalog.get_document(collection.id, added.document.id)
    assert document.status == "failed" and document.error == "cancelled"
    assert not node.worker.run_once()  # nothing left to do
    node.stop()


def test_deleting_a_collection_removes_its_files_but_keeps_those_another_holds(
    client: TestClient, tmp_path: Path
) -> None:
    shared, own = b"Held by two collections.", b"Held by one collection only."
    for name in ("a", "b"):
        client.post("/api/collections", json={"name": name})
        client.post(f"/api/collections/{name}/documents", files=[("files", ("s.txt", shared))])
    job = client.post("/api/collections/a/documents", files=[("files", ("o.txt", own))]).json()
    _wait_for_job(client, job[0]["job"]["id"])
    blobs = tmp_path / "data" / "blobs"
    assert len([p for p in blobs.rglob("*") if p.is_file()]) == 2
    assert client.delete("/api/collections/a").status_code == 204
    left = [p.name for p in blobs.rglob("*") if p.is_file()]
    assert left == [hashlib.sha256(shared).hexdigest()]
    assert client.get("/api/collections/a").status_code == 404


def test_readiness_reports_catalog_store_model_and_worker(client: TestClient) -> None:
    deadline = time.monotonic() + 60
    while (ready := client.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "catalog": "ok",
        "vector_store": "ok",
        "embedding_model": "ok",
        "worker": "ok",
        "jobs": "ok",
    }
