"""Multi-turn chat with stored conversations, and the OpenAI-compatible API driven by the
official openai package and LangChain's ChatOpenAI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient
from langchain_openai import ChatOpenAI

from tests.conftest import service_with, upload_and_wait

HANDBOOK = """# Release handbook

## Versions

Zhiku 1.0 shipped in March with the embedded mode. Zhiku 2.0 shipped in June with the
scale-out mode on PostgreSQL and Redis.

## 部署

知库二点零版本支持 PostgreSQL 和 Redis 的扩展部署模式。
"""


BACKUPS = """# 备份

知库每天凌晨两点自动备份目录数据库和向量库。备份文件保留三十天，超过期限的备份会被自动删除。
恢复备份时先停止服务，再用 zhiku restore 命令指定备份文件。
"""

LOGS = """# Logs

The access log is written to the data folder and rotated every night. Access logs are kept for
seven days; error logs are kept for ninety days before they are deleted.
"""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("chat")
    with service_with(folder, "handbook", "handbook.md", HANDBOOK.encode()) as test_client:
        for name, text in (("backups.md", BACKUPS), ("logs.md", LOGS)):
            job = upload_and_wait(test_client, "handbook", name, text.encode())
            assert job["state"] == "done", job
        yield test_client


def _chat(client: TestClient, question: str, conversation: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": question}]}
    if conversation:
        body["conversation_id"] = conversation
    response = client.post("/api/collections/handbook/chat", json=body)
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


def test_a_question_that_stands_alone_is_answered_as_alone_after_another(
    client: TestClient,
) -> None:
    alone = _chat(client, "How long are error logs kept?")
    first = _chat(client, "知库多久备份一次？")
    second = _chat(client, "How long are error logs kept?", first["conversation_id"])
    assert second["question"] == "How long are error logs kept?"  # searched for as asked
    assert second["answer"] == alone["answer"] and "ninety days" in second["answer"]
    assert [c["filename"] for c in second["citations"]] == ["logs.md"]


def test_a_follow_up_is_answered_from_the_passage_of_the_turn_it_refers_to(
    client: TestClient,
) -> None:
    first = _chat(client, "知库多久备份一次？")
    assert "凌晨两点" in first["answer"]
    follow = _chat(client, "它们会保留多久？", first["conversation_id"])
    # Asked alone, "保留多久" could be the logs' seven days; the backups are the subject.
    assert "备份" in follow["question"]
    assert "三十天" in follow["answer"] and follow["citations"][0]["filename"] == "backups.md"
    assert follow["answer"] != first["answer"]


def test_follow_up_uses_the_stored_conversation(client: TestClient) -> None:
    first = client.post(
        "/api/collections/handbook/chat",
        json={"messages": [{"role": "user", "content": "When did Zhiku 2.0 ship?"}]},
    ).json()
    assert "June" in first["answer"] and first["citations"]
    follow = client.post(
        "/api/collections/handbook/chat",
        json={
            "conversation_id": first["conversation_id"],
            "messages": [{"role": "user", "content": "and with which mode?"}],
        },
    ).json()
    assert follow["conversation_id"] == first["conversation_id"]
    assert "zhiku" in follow["question"].lower()  # the history's words joined the question
    assert "scale-out" in follow["answer"]
    stored = client.get(
        f"/api/collections/handbook/conversations/{first['conversation_id']}"
    ).json()
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant", "user", "assistant"]
    assert stored["messages"][1]["citations"][0]["filename"] == "handbook.md"
    listed = client.get("/api/collections/handbook/conversations").json()
    assert first["conversation_id"] in [c["id"] for c in listed]
    deleted = client.delete(f"/api/collections/handbook/conversations/{first['conversation_id']}")
    assert deleted.status_code == 204
    missing = client.get(f"/api/collections/handbook/conversations/{first['conversation_id']}")
    assert missing.status_code == 404


def test_chat_refuses_a_conversation_that_does_not_end_with_a_question(client: TestClient) -> None:
    response = client.post(
        "/api/collections/handbook/chat",
        json={"messages": [{"role": "assistant", "content": "hello"}]},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "last_message_not_user"
    assert response.json()["error"]["params"]["field"] == "messages"


def test_chat_refuses_a_message_with_a_nul_character(client: TestClient) -> None:
    response = client.post(
        "/api/collections/handbook/chat",
        json={"messages": [{"role": "user", "content": "How long\u0000 are backups kept?"}]},
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "field_invalid"
    assert response.json()["error"]["params"]["field"] == "messages.0.content"


def _openai(client: TestClient) -> openai.OpenAI:
    return openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=client)


def test_openai_sdk_lists_collections_as_models(client: TestClient) -> None:
    assert "handbook" in [m.id for m in _openai(client).models.list().data]


def test_openai_sdk_gets_a_cited_completion(client: TestClient) -> None:
    completion = _openai(client).chat.completions.create(
        model="handbook", messages=[{"role": "user", "content": "知库二点零支持什么部署模式？"}]
    )
    content = completion.choices[0].message.content or ""
    assert "PostgreSQL" in content and "Sources:" in content and "handbook.md" in content
    assert completion.choices[0].finish_reason == "stop" and completion.usage is not None
    assert (completion.model_extra or {})["citations"][0]["verified"] is True


def test_openai_sdk_streams_role_then_content_then_stop(client: TestClient) -> None:
    stream = _openai(client).chat.completions.create(
        model="handbook",
        messages=[{"role": "user", "content": "When did Zhiku 1.0 ship?"}],
        stream=True,
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "March" in text and "[1]" in text


def test_openai_sdk_gets_a_clear_error_for_an_unknown_collection(client: TestClient) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        _openai(client).chat.completions.create(
            model="nope", messages=[{"role": "user", "content": "hi"}]
        )


def test_langchain_chat_openai_talks_to_zhiku(client: TestClient) -> None:
    llm = ChatOpenAI(
        model="handbook", base_url="http://testserver/v1/", api_key="unused", http_client=client
    )
    reply = llm.invoke("When did Zhiku 2.0 ship?")
    assert "June" in str(reply.content)
