"""How much one request may send, over real HTTP against the service on a loopback port: JSON
bodies (refused from their Content-Length, or as they arrive, unread), the files and bytes of an
upload, the messages and characters of a chat and of /v1/chat/completions, and top_k."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser import ServiceThread, add_document, running
from tests.conftest import make_settings
from tests.llm_server import Answer, FakeOpenAI

PORT = 18221
JSON_KB = 64


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    settings = make_settings(
        tmp_path_factory.mktemp("sizes") / "data",
        port=PORT,
        max_json_kb=JSON_KB,
        max_upload_mb=0.6,
        max_upload_request_mb=1,
        max_upload_files=3,
        max_chat_messages=4,
        max_chat_chars=500,
    )
    with running(settings) as started:
        with httpx.Client(base_url=started.url) as http:
            assert http.post("/api/collections", json={"name": "kb"}).status_code == 201
        yield started


@pytest.fixture
def http(service: ServiceThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as client:
        yield client


def raw_request(head: str, body: bytes = b"") -> tuple[bytes, float]:
    """Sends the head (and any body) and waits for the answer without sending more: returns
    the first bytes of the answer and the seconds it took."""
    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head.encode() + body)
        answer = sock.recv(65536)
        return answer, time.monotonic() - started


def assert_too_large(answer: bytes, setting: str) -> None:
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line, answer[:300]
    assert b'"code":"body_over_limit"' in rest and setting.encode() in rest, rest[-300:]


def test_a_100_mb_json_body_is_refused_from_its_length_unread(service: ServiceThread) -> None:
    # The head announces 100 MB and no byte of it follows: the answer can only come unread.
    head = (
        "POST /api/collections/kb/query HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"
    )
    answer, seconds = raw_request(head)
    assert_too_large(answer, "ZHIKU_MAX_JSON_KB")
    assert seconds < 2


def test_a_chunked_body_is_refused_once_it_outgrows_the_limit(service: ServiceThread) -> None:
    # One chunk over the limit, and the body never ends: the answer comes as it arrives.
    chunk = b"[" + b"1," * (JSON_KB * 1024)
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    answer, seconds = raw_request(head, f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    assert_too_large(answer, "ZHIKU_MAX_JSON_KB")
    assert seconds < 5


def test_a_body_within_the_limit_is_read(http: httpx.Client) -> None:
    response = http.post("/api/collections/kb/query", json={"question": "x" * 10_000})
    assert response.status_code == 422  # over ZHIKU_MAX_QUESTION_CHARS, not ZHIKU_MAX_JSON_KB
    assert "ZHIKU_MAX_QUESTION_CHARS" in response.json()["error"]["message"]


def files(*sizes: int) -> list[tuple[str, tuple[str, bytes]]]:
    return [("files", (f"f{n}.txt", b"a" * size)) for n, size in enumerate(sizes)]


def test_too_many_files_in_one_upload_are_refused(http: httpx.Client) -> None:
    response = http.post("/api/collections/kb/documents", files=files(10, 10, 10, 10))
    assert response.status_code == 413
    assert "ZHIKU_MAX_UPLOAD_FILES" in response.json()["error"]["message"]
    assert http.get("/api/collections/kb/documents").json() == []


def test_too_many_bytes_in_one_upload_are_refused(http: httpx.Client) -> None:
    half = 512 * 1024
    # Over the limit by far: refused from the request's length.
    response = http.post("/api/collections/kb/documents", files=files(half, half, half))
    assert response.status_code == 413
    assert "ZHIKU_MAX_UPLOAD_REQUEST_MB" in response.json()["error"]["message"]
    # Over it by 8 KB, within what multipart framing may add: refused when the files are counted.
    response = http.post("/api/collections/kb/documents", files=files(half, half, 8192))
    assert response.status_code == 413
    assert "ZHIKU_MAX_UPLOAD_REQUEST_MB" in response.json()["error"]["message"]
    assert http.get("/api/collections/kb/documents").json() == []


def messages(count: int, chars: int = 10) -> list[dict[str, str]]:
    return [
        {"role": "user" if n % 2 == 0 else "assistant", "content": "问" * chars}
        for n in range(count)
    ]


@pytest.mark.parametrize("path", ["/api/collections/kb/chat", "/v1/chat/completions"])
def test_chat_history_limits(http: httpx.Client, path: str) -> None:
    extra = {"model": "kb"} if path.startswith("/v1") else {}
    too_many = http.post(path, json={"messages": messages(5), **extra})
    assert too_many.status_code == 422
    assert "ZHIKU_MAX_CHAT_MESSAGES" in too_many.json()["error"]["message"]
    too_long = http.post(path, json={"messages": messages(3, chars=200), **extra})
    assert too_long.status_code == 422
    assert "ZHIKU_MAX_CHAT_CHARS" in too_long.json()["error"]["message"]


@pytest.mark.parametrize("top_k", [0, 51, -1])
@pytest.mark.parametrize("path", ["/api/collections/kb/query", "/api/collections/kb/chat"])
def test_top_k_out_of_bounds_is_refused(http: httpx.Client, path: str, top_k: int) -> None:
    body = {"question": "备份保留多久？"} if path.endswith("query") else {"messages": messages(1)}
    response = http.post(path, json={**body, "top_k": top_k})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == ("number_too_small" if top_k < 1 else "number_too_large")
    assert error["params"]["field"] == "top_k" and error["params"]["limit"] in (1, 50)
    assert "top_k" in error["message"]


def test_a_long_stored_conversation_goes_on_with_its_latest_turns(tmp_path: Path) -> None:
    with FakeOpenAI(then=Answer(("备份每晚复制到杭州的归档。",))) as upstream:
        settings = make_settings(
            tmp_path / "data",
            port=18222,
            llm_backend="openai",
            llm_base_url=upstream.base_url,
            llm_model="fake-model",
            llm_max_retries=0,
            max_chat_messages=4,
        )
        with running(settings) as service, httpx.Client(base_url=service.url, timeout=60) as http:
            text = "备份每晚复制到杭州的归档。Backups are copied nightly to Hangzhou.".encode()
            assert add_document(service.url, "ops", "backups.txt", text)["state"] == "done"
            ask = {"messages": [{"role": "user", "content": "备份复制到哪里？"}]}
            first = http.post("/api/collections/ops/chat", json=ask)
            assert first.status_code == 200, first.text
            conversation = first.json()["conversation_id"]
            for turn in range(3):
                follow = {**ask, "conversation_id": conversation}
                # A follow-up: a question that stands alone is answered without the history.
                question = f"第{turn + 2}次：它多久复制一次？"
                follow["messages"] = [{"role": "user", "content": question}]
                assert http.post("/api/collections/ops/chat", json=follow).status_code == 200
            stored = http.get(f"/api/collections/ops/conversations/{conversation}").json()
            assert len(stored["messages"]) == 8
            # The last answer's prompt: the system prompt, then the latest 3 stored messages
            # and the question, though 6 earlier ones are stored.
            sent = upstream.completions[-1].body["messages"]
            assert [m["role"] for m in sent] == ["system", "assistant", "user", "assistant", "user"]
            assert "第3次" in sent[2]["content"]
