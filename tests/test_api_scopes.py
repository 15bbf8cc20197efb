"""Scoped keys over real HTTP (uvicorn on a loopback port): two keys over two collections, each
route tried with the other's names and ids, /v1 and file downloads included. A key never sees
another collection's documents, chunks, citations, conversations or jobs: what it may not read
answers 404 as if absent; what it may read but not change answers 403. Admin keys manage keys;
a revoked key is refused; `zhiku keys create` prints a working key on its last line."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.chroma_server import free_port
from tests.browser import running
from tests.conftest import make_settings, upload_and_wait
from tests.processes import ZHIKU, wait_until

ROOT = "root-env-key"
ALPHA = "Project Falcon notes.\n\nThe launch code of project Falcon is 7731-ALPHA.\n"
BETA = "鹰计划说明。\n\n鹰计划的发射代码是 4492-BETA，只有贝塔组知道。\n"


@dataclass
class Deployment:
    url: str
    data_dir: Path
    jobs: dict[str, str]
    documents: dict[str, str]
    keys: dict[str, str]

    def as_(self, who: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def zhiku_keys(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZHIKU_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [ZHIKU, "keys", *args], env=env, cwd=data_dir, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    data_dir = tmp_path_factory.mktemp("scopes") / "data"
    settings = make_settings(data_dir, port=free_port(), api_keys=ROOT)
    with (
        running(settings) as service,
        httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {ROOT}"}) as root,
    ):
        jobs, documents = {}, {}
        for name, text in (("alpha", ALPHA), ("beta", BETA)):
            job = upload_and_wait(root, name, f"{name}.md", text.encode())
            assert job["state"] == "done", job
            jobs[name], documents[name] = job["id"], job["document_id"]
        keys = {"root": ROOT}
        for who, body in {
            "a": {"name": "alpha team", "read": ["alpha"], "write": ["alpha"]},
            "b": {"name": "beta reader", "read": ["beta"]},
            "all": {"read": ["*"]},
            "maker": {"write": ["gamma"]},
        }.items():
            created = root.post("/api/keys", json=body)
            assert created.status_code == 201, created.text
            keys[who] = created.json()["secret"]
        yield Deployment(service.url, data_dir, jobs, documents, keys)


def test_each_key_lists_and_reads_only_its_collections(deployment: Deployment) -> None:
    with deployment.as_("a") as a, deployment.as_("b") as b, deployment.as_("all") as every:
        assert [c["name"] for c in a.get("/api/collections").json()] == ["alpha"]
        assert [c["name"] for c in b.get("/api/collections").json()] == ["beta"]
        assert [c["name"] for c in every.get("/api/collections").json()] == ["alpha", "beta"]
        assert [m["id"] for m in a.get("/v1/models").json()["data"]] == ["alpha"]
        assert [m["id"] for m in b.get("/v1/models").json()["data"]] == ["beta"]

        beta, alpha_doc = deployment.documents["beta"], deployment.documents["alpha"]
        hidden = a.get("/api/collections/beta")
        absent = a.get("/api/collections/no-such")
        assert hidden.status_code == absent.status_code == 404
        assert hidden.json()["error"]["message"] == absent.json()["error"]["message"].replace(
            "no-such", "beta"
        )
        for path in (
            "/api/collections/beta/documents",
            f"/api/collections/beta/documents/{beta}",
            f"/api/collections/beta/documents/{beta}/file",
            "/api/collections/beta/conversations",
        ):
            assert a.get(path).status_code == 404, path
        # Another collection's document id through one's own collection finds nothing either.
        assert a.get(f"/api/collections/alpha/documents/{beta}/file").status_code == 404
        own = a.get(f"/api/collections/alpha/documents/{alpha_doc}/file")
        assert own.status_code == 200 and b"7731-ALPHA" in own.content
        assert b.get(f"/api/collections/beta/documents/{beta}/file").status_code == 200


def test_questions_reach_only_readable_collections(deployment: Deployment) -> None:
    with deployment.as_("a") as a:
        asked = {"question": "What is the launch code of project Falcon?"}
        refused = a.post("/api/collections/beta/query", json=asked)
        assert refused.status_code == 404
        answered = a.post("/api/collections/alpha/query", json=asked).json()
        cited = {c["document_id"] for c in answered["citations"]}
        cited |= {c["document_id"] for c in answered["chunks"]}
        assert cited == {deployment.documents["alpha"]}
        assert "4492" not in repr(answered)

        chat = {"messages": [{"role": "user", "content": "鹰计划的发射代码是什么？"}]}
        assert a.post("/api/collections/beta/chat", json=chat).status_code == 404
        v1 = {"model": "beta", "messages": chat["messages"]}
        hidden = a.post("/v1/chat/completions", json=v1)
        assert (
            hidden.status_code == 404 and hidden.json()["error"]["code"] == "collection_not_found"
        )
        own = a.post("/v1/chat/completions", json={**v1, "model": "alpha"})
        assert own.status_code == 200
        assert {c["document_id"] for c in own.json()["citations"]} <= {
            deployment.documents["alpha"]
        }
        assert "4492" not in own.text


def test_conversations_stay_with_their_collection(deployment: Deployment) -> None:
    with deployment.as_("b") as b, deployment.as_("a") as a:
        chat = {"messages": [{"role": "user", "content": "鹰计划的发射代码是什么？"}]}
        started = b.post("/api/collections/beta/chat", json=chat)
        assert started.status_code == 200, started.text
        conversation = started.json()["conversation_id"]
        listed = b.get("/api/collections/beta/conversations").json()
        assert conversation in [c["id"] for c in listed]
        assert conversation not in repr(a.get("/api/collections/alpha/conversations").json())
        for method in ("GET", "DELETE"):
            for collection in ("alpha", "beta"):
                path = f"/api/collections/{collection}/conversations/{conversation}"
                assert a.request(method, path).status_code == 404, (method, path)
        got = b.get(f"/api/collections/beta/conversations/{conversation}")
        assert got.status_code == 200 and "4492" in got.text
        # Reading a collection includes its conversations: a reader may delete one.
        assert b.delete(f"/api/collections/beta/conversations/{conversation}").status_code == 204


def test_jobs_are_hidden_or_refused_by_their_collection(deployment: Deployment) -> None:
    alpha_job, beta_job = deployment.jobs["alpha"], deployment.jobs["beta"]
    with deployment.as_("a") as a, deployment.as_("b") as b:
        assert a.get(f"/api/jobs/{alpha_job}").status_code == 200
        hidden, absent = a.get(f"/api/jobs/{beta_job}"), a.get("/api/jobs/nope")
        assert hidden.status_code == absent.status_code == 404
        for action in ("cancel", "retry"):
            assert a.post(f"/api/jobs/{beta_job}/{action}").status_code == 404
            refused = b.post(f"/api/jobs/{beta_job}/{action}")
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "collection_read_only"
        # With write access the request goes through: a finished job cannot be cancelled.
        assert a.post(f"/api/jobs/{alpha_job}/cancel").status_code == 409


def test_changing_a_collection_needs_its_write_scope(deployment: Deployment) -> None:
    beta_doc = deployment.documents["beta"]
    file = [("files", ("more.md", "# 更多\n\n新的内容。".encode()))]
    with (
        deployment.as_("a") as a,
        deployment.as_("b") as b,
        deployment.as_("maker") as maker,
    ):
        for response in (
            b.post("/api/collections/beta/documents", files=file),
            b.delete(f"/api/collections/beta/documents/{beta_doc}"),
            b.delete("/api/collections/beta"),
            b.post("/api/collections", json={"name": "beta2"}),
            a.post("/api/collections", json={"name": "gamma"}),
        ):
            assert response.status_code == 403, response.request.url
            assert response.json()["error"]["code"] == "collection_read_only"
        # Without read access a write route answers as if the collection did not exist.
        assert a.post("/api/collections/beta/documents", files=file).status_code == 404
        assert a.delete(f"/api/collections/beta/documents/{beta_doc}").status_code == 404
        assert b.get(f"/api/collections/beta/documents/{beta_doc}").status_code == 200
        # A key allowed to write a collection that does not exist yet may create it.
        assert maker.post("/api/collections", json={"name": "gamma"}).status_code == 201
        assert [c["name"] for c in maker.get("/api/collections").json()] == ["gamma"]
        assert maker.post("/api/collections/gamma/documents", files=file).status_code == 202
        assert a.post("/api/collections/alpha/documents", files=file).status_code == 202


def test_evaluations_are_read_with_the_read_scope_and_started_with_the_write_scope(
    deployment: Deployment,
) -> None:
    golden = {"items": [{"question": "What is the launch code of Falcon?", "answer": "7731-ALPHA"}]}
    with (
        deployment.as_("a") as a,
        deployment.as_("b") as b,
        deployment.as_("all") as every,
        deployment.as_("root") as root,
    ):
        started = a.post("/api/collections/alpha/evaluations", json=golden)
        assert started.status_code == 202, started.text
        path = f"/api/collections/alpha/evaluations/{started.json()['id']}"
        wait_until(lambda: a.get(path).json()["state"] != "running", 60, "the evaluation")
        assert a.get(path).json()["state"] == "done"

        # A key that may not read the collection finds neither it nor its runs.
        for method, hidden in (
            ("GET", "/api/collections/alpha/evaluations"),
            ("GET", path),
            ("GET", f"{path}/report.html"),
            ("DELETE", path),
        ):
            assert b.request(method, hidden).status_code == 404, (method, hidden)
        assert b.post("/api/collections/alpha/evaluations", json=golden).status_code == 404
        # One that may read it but not change it reads runs, and may not start or delete one.
        refused = b.post("/api/collections/beta/evaluations", json=golden)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "collection_read_only"
        assert b.get("/api/collections/beta/evaluations").json() == []
        assert every.get(path).json()["report"]["metrics"]["questions"] == 1
        assert every.get(f"{path}/report.html").status_code == 200
        assert every.delete(path).status_code == 403
        # A run is found only through its own collection.
        elsewhere = root.get(path.replace("/alpha/", "/beta/"))
        assert elsewhere.status_code == 404
        assert elsewhere.json()["error"]["code"] == "evaluation_not_found"
        assert a.delete(path).status_code == 204


def test_only_admin_keys_manage_keys_and_secrets_are_shown_once(deployment: Deployment) -> None:
    with deployment.as_("a") as a, deployment.as_("root") as root:
        assert a.get("/api/keys").status_code == 403
        assert a.post("/api/keys", json={"read": ["*"]}).status_code == 403
        assert a.request("DELETE", "/api/keys/anything").status_code == 403
        listed = root.get("/api/keys").json()
        assert {k["name"] for k in listed} >= {"alpha team", "beta reader"}
        assert all("secret" not in k for k in listed)
        assert not any(secret in repr(listed) for secret in deployment.keys.values())
        assert root.post("/api/keys", json={}).status_code == 422
    with httpx.Client(base_url=deployment.url) as anonymous:
        refused = anonymous.get("/api/collections")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"


def test_keys_made_by_the_cli_work_and_revoked_keys_are_refused(deployment: Deployment) -> None:
    made = zhiku_keys(deployment.data_dir, "create", "--admin", "--name", "ops")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("zk_") and " " not in secret
    with httpx.Client(
        base_url=deployment.url, headers={"Authorization": f"Bearer {secret}"}
    ) as ops:
        assert ops.get("/api/keys").status_code == 200
        reader = ops.post("/api/keys", json={"name": "temp", "read": ["alpha"]}).json()
        auth = {"Authorization": f"Bearer {reader['secret']}"}
        assert httpx.get(f"{deployment.url}/api/collections", headers=auth).status_code == 200
        # Revoked through the API: refused at once.
        assert ops.delete(f"/api/keys/{reader['id']}").status_code == 204
        assert httpx.get(f"{deployment.url}/api/collections", headers=auth).status_code == 401
        listing = zhiku_keys(deployment.data_dir, "list")
        assert listing.returncode == 0 and "ops" in listing.stdout and secret not in listing.stdout
        ops_id = next(line.split()[0] for line in listing.stdout.splitlines() if " ops " in line)
        # Revoked by the CLI, another process: refused within the service's cache time.
        assert zhiku_keys(deployment.data_dir, "revoke", ops_id).returncode == 0
        wait_until(lambda: ops.get("/api/keys").status_code == 401, 5, "the revocation")


def test_the_cli_goes_through_the_service_with_zhiku_api_key(
    deployment: Deployment, tmp_path: Path
) -> None:
    note = tmp_path / "note.md"
    note.write_text("# 备忘\n\nFalcon 的备份每晚进行。\n", encoding="utf-8")
    env = {**os.environ, "ZHIKU_DATA_DIR": str(deployment.data_dir), "HF_HUB_OFFLINE": "1"}

    def add(key: str, collection: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ZHIKU, "add", str(note), "--collection", collection],
            env={**env, "ZHIKU_API_KEY": key},
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = add(deployment.keys["b"], "beta")
    assert refused.returncode != 0 and "may not change" in refused.stdout + refused.stderr
    added = add(deployment.keys["a"], "alpha")
    assert added.returncode == 0, added.stdout + added.stderr
