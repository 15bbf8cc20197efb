"""Evaluations over HTTP: a golden set uploaded to a collection of shared PDFs runs in the
background to a report with sane metrics, its progress counted in questions; a malformed set is
refused before anything runs; one run per collection at a time; a deleted run stops; a run
left running by a stopped service ends as interrupted, never running forever (at once on the
data directory's own SQLite catalog, once its progress is stale on a shared PostgreSQL one)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from core.catalog import open_catalog
from tests.conftest import make_settings, upload_and_wait

PDFS = ("en-elegantpaper-guide.pdf", "zh-elegantpaper-guide.pdf", "en-google-doc-example.pdf")
KB = "guides"
# Not in any of the three documents, on the topic of one of them.
UNANSWERABLE = {"question": "ElegantPaper 模板的作者出生于哪一年？", "answer": None}


def _golden(shared_data: Path) -> list[dict[str, Any]]:
    """The shared QA set's questions on these PDFs, an unanswerable one, and a conversation of
    two turns: 3 + 1 + 2 questions."""
    lines = (shared_data / "qa" / "pdf_qa.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    chosen = [e for e in entries if e["file"] and Path(e["file"]).name in PDFS]
    assert len(chosen) == 3
    zh_version = next(e for e in chosen if e["file"].endswith("zh-elegantpaper-guide.pdf"))
    engines = next(e for e in chosen if e["file"].endswith("en-elegantpaper-guide.pdf"))
    return [*chosen, UNANSWERABLE, {"turns": [zh_version, engines]}]


def _jsonl(entries: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(e, ensure_ascii=False) for e in entries).encode()


def _finished(client: TestClient, path: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = client.get(path).json()
        if run["state"] != "running":
            return run
        assert time.monotonic() < deadline, f"the evaluation did not finish: {run}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def guides(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[TestClient]:
    """A service with the three guides ingested in collection `guides`."""
    folder = tmp_path_factory.mktemp("evaluations")
    with TestClient(create_app(make_settings(folder / "data"))) as client:
        for name in PDFS:
            job = upload_and_wait(client, KB, name, (shared_data / "pdfs" / name).read_bytes())
            assert job["state"] == "done", job
        yield client


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[TestClient]:
    """A service with an empty collection `kb`."""
    with TestClient(create_app(make_settings(tmp_path / "data"))) as client:
        assert client.post("/api/collections", json={"name": "kb"}).status_code == 201
        yield client


@pytest.mark.slow
def test_an_uploaded_golden_set_runs_in_the_background_to_a_report_with_sane_metrics(
    guides: TestClient, shared_data: Path
) -> None:
    upload = [("file", ("guides.jsonl", _jsonl(_golden(shared_data))))]
    started = guides.post(f"/api/collections/{KB}/evaluations", files=upload, data={"top_k": "5"})
    assert started.status_code == 202, started.text
    run = started.json()
    assert (run["state"], run["golden_file"], run["top_k"]) == ("running", "guides.jsonl", 5)
    assert run["progress"] == {"questions_done": 0, "questions_total": 6}
    path = f"/api/collections/{KB}/evaluations/{run['id']}"

    done = _finished(guides, path)
    assert done["state"] == "done", done
    assert done["progress"] == {"questions_done": 6, "questions_total": 6}
    assert done["finished_at"] >= done["created_at"]
    report = done["report"]
    metrics = report["metrics"]
    assert (metrics["questions"], metrics["answerable"], metrics["unanswerable"]) == (6, 5, 1)
    assert len(report["rows"]) == 6
    assert report["config"]["top_k"] == 5 and report["config"]["collection"] == KB
    assert report["config"]["backend"] == "extractive" and report["golden"] == "guides.jsonl"
    assert [r["turn"] for r in report["rows"]] == [None, None, None, None, 1, 2]
    ratios = [
        v
        for k, v in metrics.items()
        if k not in ("questions", "answerable", "unanswerable", "latency")
    ]
    assert all(v is None or 0 <= v <= 1 for v in ratios), metrics
    assert 0 < metrics["hit_at_1"] <= metrics["hit_at_3"] <= metrics["hit_at_5"]
    assert metrics["hit_at_1"] <= metrics["mrr_at_10"] <= 1
    # The hits the report counts are the rows' own: hit@5 is the share of rows hit by rank 5.
    answerable = [r for r in report["rows"] if r["expected"] is not None]
    by_five = sum(1 for r in answerable if r["hit_rank"] is not None and r["hit_rank"] <= 5)
    assert metrics["hit_at_5"] == pytest.approx(by_five / len(answerable))
    assert metrics["latency"] and all(
        0 < t["p50_ms"] <= t["p95_ms"] for t in metrics["latency"].values()
    )

    listed = guides.get(f"/api/collections/{KB}/evaluations").json()
    assert listed[0]["id"] == run["id"] and listed[0]["report"] is None

    page = guides.get(f"{path}/report.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"].startswith("sandbox")
    assert "guides.jsonl" in page.text

    assert guides.delete(path).status_code == 204
    gone = guides.get(path)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "evaluation_not_found"


@pytest.mark.slow
def test_one_run_per_collection_at_a_time_and_a_deleted_run_stops(guides: TestClient) -> None:
    many = {"items": [{"question": f"What is ElegantPaper, part {n}?"} for n in range(1000)]}
    first = guides.post(f"/api/collections/{KB}/evaluations", json=many)
    assert first.status_code == 202, first.text
    run = first.json()
    assert run["golden_file"] == "golden.json" and run["progress"]["questions_total"] == 1000
    path = f"/api/collections/{KB}/evaluations/{run['id']}"

    second = guides.post(f"/api/collections/{KB}/evaluations", json=many)
    assert second.status_code == 409
    assert second.json()["error"] == {
        "code": "evaluation_running",
        "message": second.json()["error"]["message"],
        "params": {"evaluation": run["id"]},
    }
    early = guides.get(f"{path}/report.html")
    assert early.status_code == 409 and early.json()["error"]["code"] == "evaluation_not_done"
    # Its progress shows while it runs, written every few seconds.
    deadline = time.monotonic() + 60
    while (shown := guides.get(path).json())["progress"]["questions_done"] == 0:
        assert time.monotonic() < deadline, "no progress was shown"
        time.sleep(0.2)
    assert shown["state"] == "running" and 0 < shown["progress"]["questions_done"] < 1000

    assert guides.delete(path).status_code == 204
    assert guides.get(path).status_code == 404
    # Its task is gone with it: the collection may start another at once.
    again = guides.post(f"/api/collections/{KB}/evaluations", json={"items": many["items"][:1]})
    assert again.status_code == 202, again.text
    finished = _finished(guides, f"/api/collections/{KB}/evaluations/{again.json()['id']}")
    assert finished["state"] == "done" and finished["progress"]["questions_done"] == 1
    assert [e["id"] for e in guides.get(f"/api/collections/{KB}/evaluations").json()] == [
        again.json()["id"]
    ]


@pytest.mark.parametrize(
    ("filename", "data", "code", "params"),
    [
        (
            "set.jsonl",
            b'{"question": "fine", "answer": "yes"}\n{"question": "broken", \n',
            "golden_line_invalid",
            {"line": 2},
        ),
        ("set.jsonl", b'{"answer": "no question"}\n', "golden_line_invalid", {"line": 1}),
        ("set.csv", b"query,answer\nwhat?,that\n", "golden_csv_no_question", {}),
        ("set.jsonl", b"\n\n", "golden_empty", {}),
        ("set.jsonl", "问题".encode("gbk"), "golden_not_text", {}),
        ("squad.json", b'{"data": [{"title": "x"}]}', "golden_entry_invalid", {}),
    ],
)
def test_a_malformed_golden_file_is_refused_before_anything_runs(
    empty: TestClient, filename: str, data: bytes, code: str, params: dict[str, Any]
) -> None:
    refused = empty.post("/api/collections/kb/evaluations", files=[("file", (filename, data))])
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == code and error["params"]["source"] == filename
    assert params.items() <= error["params"].items()
    assert empty.get("/api/collections/kb/evaluations").json() == []


def test_a_request_without_a_golden_set_or_with_bad_options_is_a_json_error(
    empty: TestClient,
) -> None:
    path = "/api/collections/kb/evaluations"
    cases = [
        (
            empty.post(path, data={"top_k": "5"}, files=[("other", ("x", b"y"))]),
            422,
            "golden_file_missing",
        ),
        (
            empty.post(path, content=b"question?", headers={"content-type": "text/plain"}),
            422,
            "golden_file_missing",
        ),
        (
            empty.post(
                path, files=[("file", ("s.jsonl", b'{"question": "q"}'))], data={"top_k": "0"}
            ),
            422,
            "number_too_small",
        ),
        (
            empty.post(path, json={"items": [{"question": "q"}], "top_k": 51}),
            422,
            "number_too_large",
        ),
        (empty.post(path, json={"items": []}), 422, "field_too_short"),
        (empty.post(path, json={"items": [{"question": ""}]}), 422, "golden_line_invalid"),
        (
            empty.post(path, content=b"{", headers={"content-type": "application/json"}),
            422,
            "body_not_json",
        ),
        (
            empty.post(path, content=b"--x\r\n", headers={"content-type": "multipart/form-data"}),
            400,
            "bad_request",
        ),
        (
            empty.post("/api/collections/none/evaluations", json={"items": [{"question": "q"}]}),
            404,
            "collection_not_found",
        ),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code, response.text
    assert empty.get(path).json() == []


def test_a_golden_file_is_stored_under_its_own_name_without_folders_or_control_characters(
    empty: TestClient,
) -> None:
    # Written by hand: a client library would escape the NUL.
    body = (
        b"--b\r\n"
        b'Content-Disposition: form-data; name="file"; filename="C:\\sets\\qa\x00\x1b.jsonl"\r\n'
        b"\r\n"
        b'{"question": "q?"}\r\n'
        b"--b--\r\n"
    )
    started = empty.post(
        "/api/collections/kb/evaluations",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert started.status_code == 202, started.text
    assert started.json()["golden_file"] == "qa.jsonl"
    empty.delete(f"/api/collections/kb/evaluations/{started.json()['id']}")


def test_an_unknown_evaluation_is_404(empty: TestClient) -> None:
    for method, suffix in (("GET", ""), ("GET", "/report.html"), ("DELETE", "")):
        missing = empty.request(method, f"/api/collections/kb/evaluations/nope{suffix}")
        assert missing.status_code == 404, (method, suffix)
        assert missing.json()["error"] == {
            "code": "evaluation_not_found",
            "message": "evaluation 'nope' does not exist in this collection",
            "params": {"evaluation": "nope"},
        }


def test_a_golden_set_over_the_question_limit_is_refused(empty: TestClient) -> None:
    lines = _jsonl([{"question": f"q{n}"} for n in range(2001)])
    refused = empty.post("/api/collections/kb/evaluations", files=[("file", ("big.jsonl", lines))])
    assert refused.status_code == 422
    assert refused.json()["error"]["params"] == {"count": 2001, "limit": 2000}


def test_a_run_left_running_by_a_stopped_service_ends_as_interrupted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    # A service killed mid-run: its row still says running.
    catalog = open_catalog(settings)
    try:
        killed = catalog.evaluations().start(
            catalog.create_collection("kb", settings.embedding_model, 200, 20).id,
            "set.jsonl",
            5,
            3,
            stale=60,
        )
    finally:
        catalog.close()
    many = {"items": [{"question": f"question {n}?"} for n in range(500)]}
    with TestClient(create_app(settings)) as client:
        found = client.get(f"/api/collections/kb/evaluations/{killed.id}").json()
        assert (found["state"], found["error_code"]) == ("failed", "evaluation_interrupted")
        assert found["finished_at"] is not None
        # A service stopping while a run is under way.
        stopped = client.post("/api/collections/kb/evaluations", json=many)
        assert stopped.status_code == 202, stopped.text
    with TestClient(create_app(settings)) as client:
        found = client.get(f"/api/collections/kb/evaluations/{stopped.json()['id']}").json()
        assert (found["state"], found["error_code"]) == ("failed", "evaluation_interrupted")
        assert found["progress"]["questions_done"] < 500


def test_on_a_shared_catalog_only_a_run_whose_progress_stopped_ends_as_interrupted(
    tmp_path: Path, postgres_url: str
) -> None:
    settings = make_settings(tmp_path / "data", database_url=postgres_url)
    catalog = open_catalog(settings)
    try:
        runs = catalog.evaluations()
        stalled, alive = (
            runs.start(
                catalog.create_collection(name, settings.embedding_model, 200, 20).id,
                "set.jsonl",
                5,
                3,
                stale=60,
            )
            for name in ("kb", "other")
        )
    finally:
        catalog.close()
    with psycopg.connect(postgres_url) as db:
        db.execute(
            "UPDATE evaluations SET updated_at = updated_at - 1000 WHERE id = %s", (stalled.id,)
        )
    with TestClient(create_app(settings)) as client:
        # Another service sharing the catalog may be running the one whose progress moves.
        found = client.get(f"/api/collections/other/evaluations/{alive.id}").json()
        assert found["state"] == "running"
        found = client.get(f"/api/collections/kb/evaluations/{stalled.id}").json()
        assert (found["state"], found["error_code"]) == ("failed", "evaluation_interrupted")
