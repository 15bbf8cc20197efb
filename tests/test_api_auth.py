"""API keys guard /api and /v1 once any key exists (ZHIKU_API_KEYS or the catalog's), and always
off loopback unless anonymous access is asked for; health probes stay open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    clients: list[TestClient] = []

    def start(**overrides: Any) -> TestClient:
        settings = make_settings(tmp_path / f"data{len(clients)}", **overrides)
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def test_without_keys_anyone_may_call(serve: Any) -> None:
    client = serve()
    assert client.get("/api/collections").status_code == 200


def test_keys_are_required_once_set(serve: Any) -> None:
    client = serve(api_keys="k-one, k-two")
    refused = client.get("/api/collections")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_key_required"
    assert refused.headers["www-authenticate"] == "Bearer"
    wrong = client.get("/api/collections", headers={"Authorization": "Bearer k-three"})
    assert wrong.status_code == 401 and "ZHIKU_API_KEYS" in wrong.json()["error"]["message"]
    assert wrong.json()["error"]["code"] == "api_key_invalid"
    for key in ("k-one", "k-two"):
        ok = client.get("/api/collections", headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200
    assert client.get("/v1/models").status_code == 401
    assert client.post("/v1/chat/completions", json={}).status_code == 401
    assert client.get("/healthz").status_code == 200


def test_anonymous_can_be_allowed_beside_keys(serve: Any) -> None:
    client = serve(api_keys="k-one", allow_anonymous=True)
    assert client.get("/api/collections").status_code == 200
    bad = client.get("/api/collections", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_the_first_key_in_the_catalog_ends_anonymous_access(serve: Any) -> None:
    client = serve()
    created = client.post("/api/keys", json={"name": "first", "admin": True})
    assert created.status_code == 201
    assert client.get("/api/collections").status_code == 401
    auth = {"Authorization": f"Bearer {created.json()['secret']}"}
    assert client.get("/api/collections", headers=auth).status_code == 200
    # The rule holds both ways: on loopback, with the last key revoked, no key is needed again.
    key_id = created.json()["id"]
    assert client.delete(f"/api/keys/{key_id}", headers=auth).status_code == 204
    assert client.get("/api/collections").status_code == 200


def test_without_keys_anonymous_access_needs_loopback_or_asking_for_it(serve: Any) -> None:
    # As under `uvicorn app.main:app`, which `zhiku serve`'s refusal to start does not cover.
    assert serve(host="0.0.0.0").get("/api/collections").status_code == 401
    assert serve(host="::1").get("/api/collections").status_code == 200
    assert serve(allow_anonymous=False).get("/api/collections").status_code == 401
    assert serve(host="0.0.0.0", allow_anonymous=True).get("/api/collections").status_code == 200


def test_the_openapi_document_lists_401_and_403_where_routes_give_them() -> None:
    paths = create_app().openapi()["paths"]

    def statuses(method: str, path: str) -> set[str]:
        return set(paths[path][method]["responses"])

    refusing = [
        ("post", "/api/collections"),
        ("delete", "/api/collections/{name}"),
        ("post", "/api/collections/{name}/documents"),
        ("delete", "/api/collections/{name}/documents/{document_id}"),
        ("post", "/api/jobs/{job_id}/cancel"),
        ("post", "/api/jobs/{job_id}/retry"),
        ("get", "/api/keys"),
        ("post", "/api/keys"),
        ("delete", "/api/keys/{key_id}"),
    ]
    for method, path in refusing:
        assert {"401", "403"} <= statuses(method, path), (method, path)
    reading = [
        ("get", "/api/collections"),
        ("get", "/api/collections/{name}/documents/{document_id}/file"),
        ("get", "/api/jobs/{job_id}"),
        ("post", "/api/collections/{name}/query"),
        ("get", "/v1/models"),
        ("post", "/v1/chat/completions"),
    ]
    for method, path in reading:
        assert "401" in statuses(method, path) and "403" not in statuses(method, path)
    assert "401" not in statuses("get", "/healthz")
