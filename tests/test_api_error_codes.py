"""Every error the API sends carries a stable code and its parameters beside the English message
API clients have always read, with the same HTTP status; a document's and a job's failure
reason carries its code and parameters too, so the page can say each in its own language."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from core.messages import TEMPLATES
from tests.conftest import make_settings


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    # OCR off: a scan fails with a reason (tests/test_ocr.py reads scans with it on).
    settings = make_settings(tmp_path / "data", max_upload_mb=1, max_json_kb=8, ocr=False)
    with TestClient(create_app(settings)) as test_client:
        assert test_client.post("/api/collections", json={"name": "kb"}).status_code == 201
        yield test_client


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "params"} and error["code"] in TEMPLATES
    return error


def test_a_missing_collection_is_named_in_its_code_and_parameters(client: TestClient) -> None:
    error = error_of(client.get("/api/collections/手册/documents"), 404)
    assert error == {
        "code": "collection_not_found",
        "message": "collection '手册' does not exist; create it first",
        "params": {"name": "手册"},
    }


def test_a_taken_name_is_a_conflict_with_its_code(client: TestClient) -> None:
    error = error_of(client.post("/api/collections", json={"name": "kb"}), 409)
    assert error["code"] == "collection_exists" and error["params"] == {"name": "kb"}
    assert error["message"] == "collection 'kb' already exists"


def test_validation_errors_name_the_field_and_its_bound(client: TestClient) -> None:
    missing = error_of(client.post("/api/collections", json={}), 422)
    assert missing["code"] == "field_missing" and missing["params"]["field"] == "name"
    assert missing["message"] == "name: Field required"

    too_many = error_of(
        client.post("/api/collections/kb/query", json={"question": "备份？", "top_k": 99}), 422
    )
    assert too_many["code"] == "number_too_large"
    assert too_many["params"]["field"] == "top_k" and too_many["params"]["limit"] == 50

    blank = error_of(client.post("/api/collections/kb/query", json={"question": "  "}), 422)
    assert blank["code"] == "question_empty" and blank["params"]["field"] == "question"
    assert blank["message"] == "question: the question is empty"

    not_json = error_of(
        client.post(
            "/api/collections", content=b"{oops", headers={"Content-Type": "application/json"}
        ),
        422,
    )
    assert not_json["code"] == "body_not_json"
    not_an_object = error_of(client.post("/api/collections", content=b"{oops"), 422)
    assert not_an_object["code"] == "field_invalid" and not_an_object["params"]["field"] == "body"


def test_unknown_routes_and_methods_have_codes_of_their_own(client: TestClient) -> None:
    route = error_of(client.get("/api/nothing-here"), 404)
    assert route == {
        "code": "route_not_found",
        "message": "Not Found",
        "params": {"path": "/api/nothing-here"},
    }
    method = error_of(client.put("/api/collections"), 405)
    assert method["code"] == "method_not_allowed" and method["message"] == "Method Not Allowed"
    assert method["params"] == {"method": "PUT"}


def test_a_refused_upload_names_its_file_and_the_reason(client: TestClient) -> None:
    empty = error_of(
        client.post("/api/collections/kb/documents", files=[("files", ("空.txt", b""))]), 422
    )
    assert empty == {
        "code": "file_empty",
        "message": "'空.txt': the file is empty (0 bytes)",
        "params": {"file": "空.txt"},
    }
    big = error_of(
        client.post(
            "/api/collections/kb/documents", files=[("files", ("big.txt", b"a " * 600_000))]
        ),
        413,
    )
    assert big["code"] == "file_over_limit"
    assert big["params"] == {"file": "big.txt", "limit_mb": 1.0}
    assert big["message"] == "'big.txt': over the 1 MB limit"
    none = error_of(client.post("/api/collections/kb/documents", files=[]), 422)
    assert none["code"] in ("field_missing", "no_files")


def test_a_body_over_its_limit_gives_the_limit(client: TestClient) -> None:
    error = error_of(client.post("/api/collections/kb/query", json={"question": "x" * 20_000}), 413)
    assert error["code"] == "body_over_limit" and error["params"] == {"limit_kb": 8}
    assert error["message"] == "the request body is over 8 KB (ZHIKU_MAX_JSON_KB)"


def test_a_missing_key_has_its_code(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", api_keys="k-one")
    with TestClient(create_app(settings)) as keyed:
        error = error_of(keyed.get("/api/collections"), 401)
    assert error["code"] == "api_key_required" and error["params"] == {}
    assert error["message"].startswith("this service needs an API key")


def _finished(client: TestClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_a_failed_document_gives_its_reason_as_code_parameters_and_english(
    client: TestClient, shared_data: Path
) -> None:
    encrypted = (shared_data / "pdfs" / "hostile" / "encrypted.pdf").read_bytes()
    scanned = (shared_data / "pdfs" / "hostile" / "image-only.pdf").read_bytes()
    accepted = client.post(
        "/api/collections/kb/documents",
        files=[("files", ("locked.pdf", encrypted)), ("files", ("scan.pdf", scanned))],
    ).json()
    jobs = [_finished(client, a["job"]["id"]) for a in accepted]
    documents = [
        client.get(f"/api/collections/kb/documents/{a['document']['id']}").json() for a in accepted
    ]
    for failed in (jobs[0], documents[0]):
        assert failed["error_code"] == "pdf_encrypted" and failed["error_params"] == {}
        assert failed["error"] == (
            "the PDF is encrypted and needs a password; remove the password and upload it again"
        )
    for failed in (jobs[1], documents[1]):
        assert failed["error_code"] == "pdf_scanned" and failed["error_params"] == {"pages": 1}
        assert failed["error"] == (
            "no extractable text: the PDF looks scanned or image-only (1 page);"
            " OCR is turned off (ZHIKU_OCR)"
        )
    listed = client.get("/api/collections/kb/documents").json()
    assert {d["error_code"] for d in listed} == {"pdf_encrypted", "pdf_scanned"}


def test_a_document_that_has_not_failed_has_no_code(client: TestClient) -> None:
    accepted = client.post(
        "/api/collections/kb/documents",
        files=[("files", ("ok.md", "# 备份\n\n每晚备份。".encode()))],
    ).json()[0]
    job = _finished(client, accepted["job"]["id"])
    assert job["state"] == "done"
    assert (job["error"], job["error_code"], job["error_params"]) == (None, None, None)
    retry = error_of(client.post(f"/api/jobs/{job['id']}/retry"), 409)
    assert retry["code"] == "job_not_retriable"
    assert retry["params"] == {"job": job["id"], "state": "done"}
    assert retry["message"].endswith("only failed or cancelled jobs can be retried")


def test_every_error_raised_in_the_code_names_a_known_code() -> None:
    """An error built from a sentence instead of a code fails only when it is raised (a
    KeyError then, not the error): read every raise of the tree instead."""
    import ast
    import inspect
    from pathlib import Path

    from core import errors
    from core.messages import TEMPLATES

    kinds = {n for n, c in vars(errors).items() if inspect.isclass(c)}
    built = {n for n in kinds if issubclass(getattr(errors, n), errors.ZhikuError)}
    operational = {n for n in built if issubclass(getattr(errors, n), errors._Operational)}
    root = Path(__file__).parent.parent
    unknown = []
    for path in [
        p for folder in ("app", "core", "ingest", "cli") for p in (root / folder).rglob("*.py")
    ]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in built - operational or not node.args:
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and first.value not in TEMPLATES:
                unknown.append(f"{path.relative_to(root)}:{node.lineno} {first.value!r}")
            elif isinstance(first, ast.JoinedStr):
                unknown.append(f"{path.relative_to(root)}:{node.lineno} (a sentence)")
    assert unknown == []
