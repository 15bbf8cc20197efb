"""GET /api/collections/{c}/documents/{id}/file: the original bytes, shown inline (a PDF at
`#page=N` in the browser's viewer), with nothing of an uploaded page allowed to run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings

PDF = "en-google-doc-example.pdf"
PAGE = b"<html><body><script>window.__xss=1</script><p>Hello</p></body></html>"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("files") / "data")
    with TestClient(create_app(settings)) as test_client:
        test_client.post("/api/collections", json={"name": "kb"})
        yield test_client


def _upload(client: TestClient, filename: str, data: bytes) -> str:
    accepted = client.post("/api/collections/kb/documents", files=[("files", (filename, data))])
    assert accepted.status_code == 202, accepted.text
    document_id: str = accepted.json()[0]["document"]["id"]
    return document_id


def test_pdf_comes_back_byte_for_byte_inline_and_viewable(
    client: TestClient, shared_data: Path
) -> None:
    data = (shared_data / "pdfs" / PDF).read_bytes()
    document_id = _upload(client, "季度报告 Q3.pdf", data)

    response = client.get(f"/api/collections/kb/documents/{document_id}/file")

    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition == f"inline; filename*=UTF-8''{quote('季度报告 Q3.pdf')}"
    # Chrome's PDF viewer is an embedded plugin with inline styles: the page policy's
    # object-src 'none' would leave it blank.
    policy = response.headers["content-security-policy"]
    assert "object-src 'self'" in policy and "script-src" not in policy


def test_an_uploaded_html_page_is_served_sandboxed(client: TestClient) -> None:
    document_id = _upload(client, "page.html", PAGE)

    response = client.get(f"/api/collections/kb/documents/{document_id}/file")

    assert response.status_code == 200
    assert response.content == PAGE
    policy = response.headers["content-security-policy"]
    assert policy.startswith("sandbox") and "default-src 'none'" in policy


def test_unknown_document_is_a_json_404(client: TestClient) -> None:
    response = client.get(f"/api/collections/kb/documents/{'0' * 64}/file")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "document_not_found"


def test_the_file_needs_the_key_when_keys_are_set(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", api_keys="k-secret")
    with TestClient(create_app(settings)) as keyed:
        auth = {"Authorization": "Bearer k-secret"}
        keyed.post("/api/collections", json={"name": "kb"}, headers=auth)
        accepted = keyed.post(
            "/api/collections/kb/documents",
            files=[("files", ("a.txt", b"Backups run nightly."))],
            headers=auth,
        ).json()
        url = f"/api/collections/kb/documents/{accepted[0]['document']['id']}/file"

        refused = keyed.get(url)
        allowed = keyed.get(url, headers=auth)

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_key_required"
    assert allowed.status_code == 200 and allowed.content == b"Backups run nightly."
