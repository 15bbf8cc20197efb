"""The remote and local LLM backends against a real loopback server and a tiny saved model."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncGenerator, Coroutine
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest

from core.answer.vocabulary import ChatMessage, Prompt
from core.errors import ConfigError, UpstreamFailed, UpstreamTimeout
from core.llm import LLMS
from core.llm.protocol import LLM
from core.settings import Settings
from tests.conftest import make_settings
from tests.llm_server import Answer, BreakStream, Fail, FakeOpenAI, Hang, RawSSE, leave_early

T = TypeVar("T")

KEY = "sk-test-0123456789abcdef"
PROMPT = Prompt(
    messages=[
        ChatMessage("system", "Answer only from the numbered passages."),
        ChatMessage("user", "What is Zhiku? 知库是什么？"),
    ],
    question="What is Zhiku? 知库是什么？",
)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def openai_settings(tmp_path: Path, base_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "llm_backend": "openai",
        "llm_base_url": base_url,
        "llm_model": "fake-model",
        "llm_api_key": "",
        "llm_timeout_seconds": 5,
        "llm_max_retries": 2,
        "llm_max_tokens": 64,
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)


async def answer(llm: LLM, got: list[str] | None = None) -> list[str]:
    """Every delta of one answer; `got` keeps what arrived before a failure."""
    deltas = got if got is not None else []
    try:
        async for delta in llm.stream(PROMPT):
            deltas.append(delta)
    finally:
        await llm.aclose()
    return deltas


def failure_of(llm: LLM, error: type[Exception]) -> tuple[str, list[str]]:
    """The error message an answer ends with, and the deltas that came before it."""
    got: list[str] = []
    with pytest.raises(error) as caught:
        run(answer(llm, got))
    return str(caught.value), got


def test_streams_the_servers_deltas_in_order(tmp_path: Path) -> None:
    deltas = ("知库", " answers", " from your", " documents [1].")
    with FakeOpenAI(script=[Answer(deltas)]) as server:
        llm = LLMS.create("openai", openai_settings(tmp_path, server.base_url))
        assert llm.backend == "openai:fake-model"
        assert run(answer(llm)) == list(deltas)
        [request] = server.completions
    assert request.body["model"] == "fake-model"
    assert request.body["stream"] is True
    assert request.body["max_tokens"] == 64
    assert request.body["messages"] == [
        {"role": "system", "content": "Answer only from the numbered passages."},
        {"role": "user", "content": "What is Zhiku? 知库是什么？"},
    ]
    assert "authorization" not in request.headers


@pytest.mark.parametrize("suffix", ["", "/"])
def test_base_url_works_with_and_without_a_trailing_slash(tmp_path: Path, suffix: str) -> None:
    with FakeOpenAI() as server:
        llm = LLMS.create("openai", openai_settings(tmp_path, server.base_url + suffix))
        assert "".join(run(answer(llm))) == "Hello, world."
        assert [r.path for r in server.requests] == ["/v1/chat/completions"]


def test_sends_the_key_as_a_bearer_token_and_keeps_it_out_of_errors(tmp_path: Path) -> None:
    rejected = Fail(401, f"Incorrect API key provided: {KEY}.", error_type="invalid_request_error")
    with FakeOpenAI(script=[rejected]) as server:
        llm = LLMS.create("openai", openai_settings(tmp_path, server.base_url, llm_api_key=KEY))
        message, _ = failure_of(llm, UpstreamFailed)
        [request] = server.completions
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "401" in message
    assert "Incorrect API key provided" in message
    assert "ZHIKU_LLM_API_KEY" in message
    assert KEY not in message


def test_an_unknown_model_names_the_settings_to_check_and_is_not_retried(tmp_path: Path) -> None:
    with FakeOpenAI(script=[Fail(404, "The model `nope` does not exist")]) as server:
        llm = LLMS.create("openai", openai_settings(tmp_path, server.base_url))
        message, _ = failure_of(llm, UpstreamFailed)
        assert len(server.completions) == 1
    assert "The model `nope` does not exist" in message
    assert "ZHIKU_LLM_MODEL" in message
    assert "ZHIKU_LLM_BASE_URL" in message


def test_retries_503_then_streams_the_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    busy = Fail(503, f"overloaded (key {KEY})", retry_after="0")
    with FakeOpenAI(script=[busy, busy, Answer(("Hi", "!"))]) as server:
        settings = openai_settings(tmp_path, server.base_url, llm_api_key=KEY, llm_max_retries=2)
        assert run(answer(LLMS.create("openai", settings))) == ["Hi", "!"]
        assert len(server.completions) == 3
    assert "retrying" in caplog.text
    assert KEY not in caplog.text


def test_gives_up_after_the_configured_retries_with_the_upstreams_message(tmp_path: Path) -> None:
    with FakeOpenAI(then=Fail(502, "bad gateway upstream")) as server:
        llm = LLMS.create("openai", openai_settings(tmp_path, server.base_url, llm_max_retries=1))
        message, _ = failure_of(llm, UpstreamFailed)
        assert len(server.completions) == 2
    assert "502" in message
    assert "bad gateway upstream" in message


def test_does_not_wait_out_a_long_retry_after(tmp_path: Path) -> None:
    with FakeOpenAI(script=[Fail(429, "slow down", retry_after="120")]) as server:
        llm = LLMS.create("openai", openai_settings(tmp_path, server.base_url))
        started = time.monotonic()
        message, _ = failure_of(llm, UpstreamFailed)
        assert time.monotonic() - started < 5
        assert len(server.completions) == 1
    assert "429" in message
    assert "rate limiting" in message


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (BreakStream(("Hel", "lo")), "broke off"),
        (BreakStream(("Hel", "lo"), error="the model crashed"), "the model crashed"),
    ],
    ids=["connection-dropped", "error-event"],
)
def test_a_stream_that_breaks_after_the_first_delta_fails_without_a_retry(
    tmp_path: Path, breakage: BreakStream, expected: str
) -> None:
    with FakeOpenAI(script=[breakage], then=Answer(("never", "sent"))) as server:
        llm = LLMS.create("openai", openai_settings(tmp_path, server.base_url))
        message, got = failure_of(llm, UpstreamFailed)
        assert len(server.completions) == 1
    assert got == ["Hel", "lo"]
    assert expected in message


def test_malformed_json_in_the_stream_fails(tmp_path: Path) -> None:
    body = 'data: {"choices": [{"index": 0, "delta": {"content": "ok"}}]}\n\ndata: {not json\n\n'
    with FakeOpenAI(script=[RawSSE(body)]) as server:
        llm = LLMS.create("openai", openai_settings(tmp_path, server.base_url))
        message, got = failure_of(llm, UpstreamFailed)
    assert got == ["ok"]
    assert "not a JSON object" in message


def test_a_stream_that_ends_without_done_or_finish_reason_fails(tmp_path: Path) -> None:
    body = 'data: {"choices": [{"index": 0, "delta": {"content": "cut"}}]}\n\n'
    with FakeOpenAI(script=[RawSSE(body)]) as server:
        llm = LLMS.create("openai", openai_settings(tmp_path, server.base_url))
        message, _ = failure_of(llm, UpstreamFailed)
    assert "ended before the answer was complete" in message


def test_tolerates_comments_null_and_absent_content_usage_chunks_and_crlf(tmp_path: Path) -> None:
    events = [
        ": keepalive",
        'data: {"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}',
        'data: {"choices":[{"index":0,"delta":{"content":null},"finish_reason":null}]}',
        'data: {"choices":[{"index":0,"delta":{"content":"第一"}}]}',
        ": ping",
        'data: {"choices":[{"index":0,"delta":{"content":"句。"}}]}',
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
        'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}',
        "data: [DONE]",
    ]
    with FakeOpenAI(script=[RawSSE("\r\n\r\n".join(events) + "\r\n\r\n")]) as server:
        llm = LLMS.create("openai", openai_settings(tmp_path, server.base_url))
        assert run(answer(llm)) == ["第一", "句。"]


def test_a_server_that_ignores_stream_true_still_answers(tmp_path: Path) -> None:
    with FakeOpenAI(script=[Answer(("whole", " answer"), stream=False)]) as server:
        llm = LLMS.create("openai", openai_settings(tmp_path, server.base_url))
        assert run(answer(llm)) == ["whole answer"]


def test_a_hung_server_raises_upstream_timeout_in_bounded_time(tmp_path: Path) -> None:
    with FakeOpenAI(script=[Hang()]) as server:
        settings = openai_settings(tmp_path, server.base_url, llm_timeout_seconds=0.3)
        started = time.monotonic()
        message, _ = failure_of(LLMS.create("openai", settings), UpstreamTimeout)
        assert time.monotonic() - started < 3
        # A read timeout is not retried: the server may still be working on the request.
        assert len(server.completions) == 1
    assert server.base_url in message
    assert "ZHIKU_LLM_TIMEOUT_SECONDS" in message


def test_a_stall_mid_stream_raises_upstream_timeout(tmp_path: Path) -> None:
    stalls = Answer(("never",), delay=2.0, keepalive=False)
    with FakeOpenAI(script=[stalls]) as server:
        settings = openai_settings(tmp_path, server.base_url, llm_timeout_seconds=0.3)
        failure_of(LLMS.create("openai", settings), UpstreamTimeout)


def test_an_unreachable_server_fails_with_a_hint(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = openai_settings(tmp_path, f"http://127.0.0.1:{port}/v1", llm_max_retries=0)
    message, _ = failure_of(LLMS.create("openai", settings), UpstreamFailed)
    assert "could not connect" in message
    assert "ZHIKU_LLM_BASE_URL" in message


@pytest.mark.parametrize("how", ["aclose", "cancel"])
def test_closing_the_answer_early_disconnects_from_the_server(tmp_path: Path, how: str) -> None:
    endless = Answer(("token ",) * 500, delay=0.02)

    async def leave(llm: LLM, server: FakeOpenAI) -> bool:
        stream = cast(AsyncGenerator[str, None], llm.stream(PROMPT))
        assert await leave_early(stream, how) == "token "
        # Checked before the client is closed: the generator itself must drop the connection.
        disconnected = await asyncio.to_thread(server.wait_for_disconnect, 5.0)
        await llm.aclose()
        return disconnected

    with FakeOpenAI(script=[endless]) as server:
        llm = LLMS.create("openai", openai_settings(tmp_path, server.base_url))
        assert run(leave(llm, server))
        assert server.disconnects == 1


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"llm_model": ""}, "ZHIKU_LLM_MODEL"),
        ({"llm_base_url": "localhost:11434/v1"}, "ZHIKU_LLM_BASE_URL"),
    ],
)
def test_the_openai_backend_refuses_an_incomplete_configuration(
    tmp_path: Path, overrides: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        LLMS.create("openai", openai_settings(tmp_path, "http://127.0.0.1:1/v1", **overrides))


def local_settings(tmp_path: Path, folder: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "llm_backend": "local",
        "llm_model": str(folder),
        "llm_max_tokens": 8,
        "llm_temperature": 0,
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)


@pytest.mark.parametrize("kind", ["chat_template", "plain"])
@pytest.mark.parametrize("temperature", [0, 0.8])
def test_the_local_model_streams_text_within_max_tokens(
    tmp_path: Path, tiny_models: dict[str, Path], kind: str, temperature: float
) -> None:
    from transformers import AutoTokenizer

    folder = tiny_models[kind]
    settings = local_settings(tmp_path, folder, llm_max_tokens=5, llm_temperature=temperature)
    llm = LLMS.create("local", settings)
    assert llm.backend == f"local:{folder.name}"
    deltas = run(answer(llm))
    text = "".join(deltas)
    assert deltas
    assert text.strip()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    assert 1 <= len(tokenizer(text, add_special_tokens=False).input_ids) <= 5


def test_closing_the_local_answer_early_stops_generation(
    tmp_path: Path, tiny_models: dict[str, Path]
) -> None:
    # Left alone, this many tokens would take minutes.
    settings = local_settings(tmp_path, tiny_models["chat_template"], llm_max_tokens=100_000)
    llm = LLMS.create("local", settings)

    def generating() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("zhiku-local-llm")]

    async def leave_early() -> bool:
        stream = cast(AsyncGenerator[str, None], llm.stream(PROMPT))
        assert await anext(stream)
        assert generating()
        await stream.aclose()
        deadline = time.monotonic() + 5
        while generating() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        # Checked before the backend is closed, which would stop generation on its own.
        stopped = not generating()
        await llm.aclose()
        return stopped

    assert run(leave_early())


def test_closing_the_local_backend_stops_an_unfinished_answer(
    tmp_path: Path, tiny_models: dict[str, Path]
) -> None:
    settings = local_settings(tmp_path, tiny_models["plain"], llm_max_tokens=100_000)
    llm = LLMS.create("local", settings)

    async def shut_down_mid_answer() -> None:
        stream = cast(AsyncGenerator[str, None], llm.stream(PROMPT))
        assert await anext(stream)
        await llm.aclose()
        assert not [t for t in threading.enumerate() if t.name.startswith("zhiku-local-llm")]
        await stream.aclose()

    run(shut_down_mid_answer())


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_the_local_backend_refuses_a_folder_without_a_model(tmp_path: Path, state: str) -> None:
    folder = tmp_path / "model"
    if state == "empty":
        folder.mkdir()
    with pytest.raises(ConfigError, match="ZHIKU_LLM_MODEL"):
        LLMS.create("local", local_settings(tmp_path, folder))
