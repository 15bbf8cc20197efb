"""Conversations and knowledge bases as the page changes them: renaming, a conversation limited
to chosen documents (kept across requests), the last answer regenerated in place, a failed file
retried by its document id, per-knowledge-base settings (top_k) that answers follow, and a key
that may only read refused each change to a knowledge base."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.schemas import eta_seconds
from core.catalog.records import Job, JobStage, JobState
from tests.conftest import make_settings, upload_and_wait

ROOT = "root-key"
FALCON = "Project Falcon notes.\n\nThe launch code of project Falcon is 7731-ALPHA.\n"
HERON = "Project Heron notes.\n\nThe launch code of project Heron is 5520-DELTA.\n"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("conversations") / "data", api_keys=ROOT)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ROOT}"}) as http:
        for name, text in (("falcon.md", FALCON), ("heron.md", HERON)):
            assert upload_and_wait(http, "projects", name, text.encode())["state"] == "done"
        yield http


def documents(client: TestClient) -> dict[str, str]:
    listed = client.get("/api/collections/projects/documents").json()
    return {d["filename"]: d["id"] for d in listed}


def chat(client: TestClient, question: str, **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/api/collections/projects/chat",
        json={"messages": [{"role": "user", "content": question}], **extra},
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def cited(answer: dict[str, Any]) -> set[str]:
    return {c["filename"] for c in answer["chunks"]}


def test_a_conversation_keeps_its_documents_for_follow_ups(client: TestClient) -> None:
    heron = documents(client)["heron.md"]
    first = chat(client, "What is the launch code?", document_ids=[heron])
    assert cited(first) == {"heron.md"}
    conversation = first["conversation_id"]
    stored = client.get(f"/api/collections/projects/conversations/{conversation}").json()
    assert stored["document_ids"] == [heron]

    follow = chat(client, "And the launch code of Falcon?", conversation_id=conversation)
    assert cited(follow) <= {"heron.md"}

    widened = chat(client, "The Falcon launch code?", conversation_id=conversation, document_ids=[])
    assert "falcon.md" in cited(widened)
    stored = client.get(f"/api/collections/projects/conversations/{conversation}").json()
    assert stored["document_ids"] is None


def test_patch_renames_a_conversation_and_sets_its_documents(client: TestClient) -> None:
    conversation = chat(client, "Which projects are there?")["conversation_id"]
    path = f"/api/collections/projects/conversations/{conversation}"
    falcon = documents(client)["falcon.md"]

    renamed = client.patch(path, json={"title": "  Projects  overview "})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["title"] == "Projects overview"
    limited = client.patch(path, json={"document_ids": [falcon]}).json()
    assert limited["document_ids"] == [falcon] and limited["title"] == "Projects overview"
    listed = client.get("/api/collections/projects/conversations").json()
    assert listed[0]["id"] == conversation or conversation in [c["id"] for c in listed]

    for bad in (
        {"title": ""},
        {"title": "   "},
        {"title": 3},
        {"colour": "red"},
        {"title": "x" * 201},
    ):
        refused = client.patch(path, json=bad)
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["code"]
    assert client.patch(path, json={"document_ids": ["../x"]}).status_code == 422
    missing = client.patch("/api/collections/projects/conversations/nope", json={"title": "t"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "conversation_not_found"


def test_regenerate_replaces_the_last_answer_in_place(client: TestClient) -> None:
    first = chat(client, "What is the launch code of project Falcon?")
    conversation = first["conversation_id"]
    second = chat(client, "And of project Heron?", conversation_id=conversation)
    path = f"/api/collections/projects/conversations/{conversation}"
    before = client.get(path).json()["messages"]
    assert [m["role"] for m in before] == ["user", "assistant", "user", "assistant"]

    again = client.post(f"{path}/regenerate", json={})
    assert again.status_code == 200, again.text
    assert again.json()["conversation_id"] == conversation
    assert "5520-DELTA" in again.json()["answer"]
    after = client.get(path).json()["messages"]
    assert [m["role"] for m in after] == ["user", "assistant", "user", "assistant"]
    assert after[:3] == before[:3]
    assert after[3]["content"] == again.json()["answer"]
    assert after[3]["created_at"] >= before[3]["created_at"]
    assert second["answer"]

    streamed = client.post(f"{path}/regenerate", json={"stream": True})
    assert streamed.status_code == 200
    events = [
        line[len("event: ") :] for line in streamed.text.splitlines() if line.startswith("event: ")
    ]
    assert events[-2:] == ["citations", "done"]
    assert len(client.get(path).json()["messages"]) == 4

    assert client.post(f"{path}/regenerate", json={"top_k": 0}).status_code == 422
    assert client.post(f"{path}/regenerate", json={"extra": 1}).status_code == 422
    missing = client.post("/api/collections/projects/conversations/nope/regenerate", json={})
    assert missing.status_code == 404


def test_top_k_of_the_knowledge_base_is_used_when_a_request_names_none(client: TestClient) -> None:
    shown = client.get("/api/collections/projects/settings").json()
    assert shown["top_k"] == 5 and shown["stored"] == {"top_k": None, "abstain_threshold": None}
    assert shown["abstain_threshold"] is None
    assert shown["service"]["backend"] == "extractive"
    assert set(shown["service"]["abstention_thresholds"]) == {"en", "zh"}

    changed = client.patch("/api/collections/projects", json={"settings": {"top_k": 1}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["settings"] == {"top_k": 1, "abstain_threshold": None}
    answer = client.post("/api/collections/projects/query", json={"question": "launch code"})
    assert len(answer.json()["chunks"]) == 1
    asked_for = client.post(
        "/api/collections/projects/query", json={"question": "launch code", "top_k": 2}
    )
    assert len(asked_for.json()["chunks"]) == 2
    assert len(chat(client, "launch code")["chunks"]) == 1
    completion = client.post(
        "/v1/chat/completions",
        json={"model": "projects", "messages": [{"role": "user", "content": "launch code"}]},
    )
    assert completion.status_code == 200, completion.text
    assert len(completion.json()["citations"]) <= 1

    for bad in (
        {"settings": {"top_k": 0}},
        {"settings": {"top_k": 51}},
        {"settings": {"x": 1}},
        {"settings": {"abstain_threshold": 1.5}},
    ):
        assert client.patch("/api/collections/projects", json=bad).status_code == 422, bad
    client.patch("/api/collections/projects", json={"settings": {"top_k": None}})
    assert client.get("/api/collections/projects/settings").json()["top_k"] == 5


def test_rename_a_knowledge_base_keeps_its_documents_and_conversations(client: TestClient) -> None:
    assert upload_and_wait(client, "draft", "falcon.md", FALCON.encode())["state"] == "done"
    conversation = client.post(
        "/api/collections/draft/chat",
        json={"messages": [{"role": "user", "content": "launch code?"}]},
    ).json()["conversation_id"]
    client.post("/api/collections", json={"name": "taken"})

    taken = client.patch("/api/collections/draft", json={"name": "taken", "settings": {"top_k": 9}})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "collection_exists"
    assert client.get("/api/collections/draft").json()["settings"] == {
        "top_k": None,
        "abstain_threshold": None,
    }
    for bad in ({"name": ""}, {"name": "a/b"}, {"name": "x" * 101}):
        assert client.patch("/api/collections/draft", json=bad).status_code == 422, bad
    assert client.patch("/api/collections/nope", json={"name": "x"}).status_code == 404

    renamed = client.patch("/api/collections/draft", json={"name": "最终稿"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "最终稿" and renamed.json()["documents"] == 1
    assert client.get("/api/collections/draft").status_code == 404
    kept = client.get(f"/api/collections/最终稿/conversations/{conversation}")
    assert kept.status_code == 200
    answer = client.post("/api/collections/最终稿/query", json={"question": "launch code"}).json()
    assert "7731-ALPHA" in answer["answer"]
    assert client.delete("/api/collections/最终稿").status_code == 204
    assert client.delete("/api/collections/taken").status_code == 204


def test_a_failed_document_is_retried_by_its_id(client: TestClient) -> None:
    client.post("/api/collections", json={"name": "broken"})
    broken = b"%PDF-1.4\n this is not really a PDF\n%%EOF\n"
    job = upload_and_wait(client, "broken", "broken.pdf", broken)
    assert job["state"] == "failed", job
    path = f"/api/collections/broken/documents/{job['document_id']}"

    retried = client.post(f"{path}/retry")
    assert retried.status_code == 202, retried.text
    assert retried.json()["id"] != job["id"]
    assert retried.json()["state"] == "queued"
    assert client.post("/api/collections/broken/documents/nope/retry").status_code == 404

    done = upload_and_wait(client, "projects", "falcon.md", FALCON.encode())
    ready = client.post(f"/api/collections/projects/documents/{done['document_id']}/retry")
    assert ready.status_code == 409


def test_a_key_that_may_only_read_cannot_change_a_knowledge_base(client: TestClient) -> None:
    created = client.post("/api/keys", json={"name": "reader", "read": ["projects"]})
    reader = {"Authorization": f"Bearer {created.json()['secret']}"}
    writer_key = client.post("/api/keys", json={"write": ["projects"]}).json()["secret"]
    writer = {"Authorization": f"Bearer {writer_key}"}
    falcon = documents(client)["falcon.md"]

    for method, path, body in (
        ("PATCH", "/api/collections/projects", {"name": "mine"}),
        ("PATCH", "/api/collections/projects", {"settings": {"top_k": 3}}),
        ("DELETE", "/api/collections/projects", None),
        ("POST", f"/api/collections/projects/documents/{falcon}/retry", None),
    ):
        refused = client.request(method, path, json=body, headers=reader)
        assert refused.status_code == 403, (method, path)
        assert refused.json()["error"]["code"] == "collection_read_only"
    # Renaming needs write access to the new name as well: a key cannot move a knowledge base
    # out of its own reach, nor under a name another key reads.
    moved = client.patch("/api/collections/projects", json={"name": "elsewhere"}, headers=writer)
    assert moved.status_code == 403
    assert client.get("/api/collections/projects").status_code == 200

    # A reader keeps its conversations: it made them.
    conversation = client.post(
        "/api/collections/projects/chat",
        json={"messages": [{"role": "user", "content": "launch code?"}]},
        headers=reader,
    ).json()["conversation_id"]
    path = f"/api/collections/projects/conversations/{conversation}"
    assert client.patch(path, json={"title": "mine"}, headers=reader).status_code == 200
    assert client.delete(path, headers=reader).status_code == 204


def test_a_claimed_job_waiting_for_the_embedder_has_no_estimate_that_climbs() -> None:
    now = time.time()

    def job(stage: JobStage, chunks_done: int, started_ago: float) -> Job:
        return Job(
            id="j",
            collection_id="c",
            document_id="d",
            state=JobState.RUNNING,
            stage=stage,
            attempts=1,
            pages_done=10,
            pages_total=10,
            chunks_done=chunks_done,
            chunks_total=100,
            error=None,
            error_code=None,
            error_params=None,
            created_at=now - started_ago,
            updated_at=now,
            started_at=now - started_ago,
            finished_at=None,
        )

    # Parsed, claimed with others, not yet embedding: waiting longer is no slower pace.
    assert eta_seconds(job(JobStage.EMBED, 0, 10)) is None
    assert eta_seconds(job(JobStage.EMBED, 0, 600)) is None
    halfway = eta_seconds(job(JobStage.EMBED, 50, 60))
    assert halfway is not None and 0 < halfway < 60
