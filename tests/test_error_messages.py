"""Error messages tell clients what failed, never where: no internal address, host:port, data
path or key, whether from the LLM server (down, or echoing its internals in an error body) or
from a store; the operator's full message goes to the log under the request id."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.errors import scrub
from tests.asking import MODES, ask
from tests.browser import add_document, running
from tests.conftest import make_settings
from tests.llm_server import Fail, FakeOpenAI
from tests.test_answer_filter import EN, GUIDE

PORT = 18531


def test_scrub_removes_addresses_paths_and_keys() -> None:
    messages = {
        "Chroma does not answer: http://chroma.internal:8000/api/v2 refused": "[address]",
        "cannot reach Milvus at 10.0.3.7:19530: timeout": "[address]",
        "connection to postgresql://zhiku:pw@db:5432/zhiku failed": "[address]",
        "the stored file abc is missing from /var/lib/zhiku/data/blobs": "[path]",
        "key sk-live-abcdef rejected": "[redacted]",
    }
    for message, placeholder in messages.items():
        scrubbed = scrub(message, frozenset({"sk-live-abcdef"}))
        assert placeholder in scrubbed, scrubbed
        for internal in ("chroma.internal", "10.0.3.7", "pw@db", "/var/lib", "sk-live"):
            assert internal not in scrubbed
    # Hints that name settings and API paths stay readable.
    hint = "check ZHIKU_LLM_BASE_URL (which usually ends in /v1)"
    assert scrub(hint) == hint


def test_an_llm_server_that_is_down_yields_an_error_without_its_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    down = "http://127.0.0.1:18599/v1"
    settings = make_settings(
        tmp_path / "data",
        port=PORT,
        llm_backend="openai",
        llm_base_url=down,
        llm_model="fake-model",
        llm_max_retries=0,
        llm_api_key="sk-internal-key-123",
    )
    with running(settings) as service:
        assert add_document(service.url, "ops", "guide.md", GUIDE.encode())["state"] == "done"
        with httpx.Client(base_url=service.url, timeout=60) as http:
            for mode in MODES:
                asked = ask(http, "ops", EN, mode)
                assert asked.error is not None, mode
                message = asked.error["message"]
                assert (
                    asked.error["code"] == "upstream_unreachable"
                    and "ZHIKU_LLM_BASE_URL" in message
                )
                for secret in ("127.0.0.1", "18599", "http://", "sk-internal"):
                    assert secret not in message, (mode, message)
                if not mode.endswith(("sse", "stream")):
                    assert asked.status == 502
    # The operator still learns where: the full message is in the service's log.
    logged = [r.getMessage() for r in caplog.records if r.name == "zhiku.http"]
    assert any("127.0.0.1:18599" in line for line in logged), logged


def test_an_upstream_error_that_names_internals_reaches_only_the_log(tmp_path: Path) -> None:
    echo = "model not found at http://10.1.2.3:8000/models/qwen (/srv/models/qwen)"
    with FakeOpenAI(then=Fail(404, echo)) as upstream:
        settings = make_settings(
            tmp_path / "data",
            port=PORT + 1,
            llm_backend="openai",
            llm_base_url=upstream.base_url,
            llm_model="fake-model",
            llm_max_retries=0,
        )
        with running(settings) as service:
            assert add_document(service.url, "ops", "guide.md", GUIDE.encode())["state"] == "done"
            with httpx.Client(base_url=service.url, timeout=60) as http:
                for mode in ("query", "query-sse", "v1-stream"):
                    error = ask(http, "ops", EN, mode).error
                    assert error is not None and "HTTP 404" in error["message"]
                    assert "ZHIKU_LLM_MODEL" in error["message"]
                    for internal in ("10.1.2.3", "/srv/models", "127.0.0.1", "model not found"):
                        assert internal not in error["message"], error
