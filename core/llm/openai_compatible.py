"""Answers streamed from any OpenAI-compatible chat-completions server (vLLM, Ollama, OpenAI…)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from httpx_sse import EventSource
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from core.answer.vocabulary import Prompt
from core.errors import ConfigError, UpstreamFailed, UpstreamTimeout
from core.messages import render
from core.settings import Settings

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# A longer Retry-After than this fails the request at once: the person asking is waiting.
MAX_RETRY_AFTER_SECONDS = 10.0
# Error bodies are read only this far: enough for any message, bounded for a misbehaving server.
MAX_ERROR_BODY_BYTES = 64 * 1024

# The message codes of statuses with a hint for the operator (core/messages.py).
HINTS = {
    401: "upstream_status_key",
    403: "upstream_status_forbidden",
    404: "upstream_status_model",
    429: "upstream_rate_limited",
}


class _Retryable(UpstreamFailed):
    """A status worth another attempt; it surfaces as UpstreamFailed once attempts run out."""

    def __init__(self, message: str, status: int, retry_after: float | None) -> None:
        super().__init__(message, HINTS.get(status, "upstream_status"), status=status)
        self.retry_after = retry_after


class OpenAICompatibleLLM:
    """Streams `POST {ZHIKU_LLM_BASE_URL}/chat/completions`; retries only before the first delta."""

    generative = True

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_model.strip():
            raise ConfigError(
                "set ZHIKU_LLM_MODEL to the server's model name (e.g. qwen2.5:7b-instruct)"
            )
        self.model = settings.llm_model.strip()
        self.backend = f"openai:{self.model}"
        base = _parse_base_url(settings.llm_base_url)
        self._url = f"{str(base).rstrip('/')}/chat/completions"
        # Messages name the server without credentials that might sit in the URL.
        self._shown_url = str(base.copy_with(userinfo=b"")).rstrip("/")
        self._key = settings.llm_api_key.get_secret_value().strip()
        self._timeout = settings.llm_timeout_seconds
        self._max_tokens = settings.llm_max_tokens
        self._temperature = settings.llm_temperature
        self._attempts = settings.llm_max_retries + 1
        headers = {"Accept": "text/event-stream"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(self._timeout), headers=headers)
        self._jitter = wait_random_exponential(multiplier=0.5, max=8)

    async def stream(self, prompt: Prompt) -> AsyncIterator[str]:
        body = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in prompt.messages],
            "stream": True,
            "max_tokens": self._max_tokens,
            "temperature": self._temperature,
        }
        response = await self._open(body)
        try:
            async for delta in self._deltas(response):
                yield delta
        except httpx.TimeoutException as exc:
            raise self._timed_out() from exc
        except httpx.HTTPError as exc:
            raise UpstreamFailed(
                f"the answer stream from the LLM server at {self._shown_url} broke off: "
                f"{self._redact(str(exc) or type(exc).__name__)}",
                "upstream_stream_broken",
            ) from exc
        finally:
            # Closing an unfinished response drops the connection, so the server sees the
            # disconnect and stops generating.
            await response.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _open(self, body: dict[str, Any]) -> httpx.Response:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception(_worth_retrying),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            response: httpx.Response = await retrying(self._send, body)
        except httpx.TimeoutException as exc:
            raise self._timed_out() from exc
        except httpx.ConnectError as exc:
            raise UpstreamFailed(
                f"could not connect to the LLM server at {self._shown_url} ({exc}); check "
                "ZHIKU_LLM_BASE_URL and that the server is running",
                "upstream_unreachable",
            ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamFailed(
                f"the LLM server at {self._shown_url} failed: "
                f"{self._redact(str(exc) or type(exc).__name__)}"
            ) from exc
        return response

    async def _send(self, body: dict[str, Any]) -> httpx.Response:
        response = await self._client.send(
            self._client.build_request("POST", self._url, json=body), stream=True
        )
        if response.is_success:
            return response
        try:
            content = bytearray()
            async for part in response.aiter_bytes():
                content += part
                if len(content) >= MAX_ERROR_BODY_BYTES:
                    break
        finally:
            await response.aclose()
        status = response.status_code
        message = f"the LLM server at {self._shown_url} answered HTTP {status}"
        # The server's own words may name its internals: they go to the log only.
        detail = _error_detail(bytes(content))
        if detail:
            message += f": {self._redact(detail)}"
        if status in HINTS:
            # The operator's log keeps the hint the client gets.
            message += f" ({render(HINTS[status], {'status': status})})"
        if status in RETRYABLE_STATUSES:
            raise _Retryable(message, status, _retry_after(response.headers.get("Retry-After")))
        raise UpstreamFailed(message, HINTS.get(status, "upstream_status"), status=status)

    async def _deltas(self, response: httpx.Response) -> AsyncIterator[str]:
        content_type = response.headers.get("Content-Type", "")
        if "text/event-stream" not in content_type:
            # Some servers ignore `stream: true` and send the whole completion at once.
            if "json" not in content_type:
                raise UpstreamFailed(
                    f"the LLM server at {self._shown_url} answered with Content-Type "
                    f"{content_type or 'none'!r} instead of an event stream; check "
                    "ZHIKU_LLM_BASE_URL",
                    "upstream_not_event_stream",
                )
            choice = _first_choice(self._decode(await response.aread()))
            content = _text(choice.get("message"))
            if content:
                yield content
            return
        finished = False
        async for event in EventSource(response).aiter_sse():
            if event.data.startswith("[DONE]"):
                return
            if event.event == "error":
                raise self._failed_mid_answer(event.data)
            if not event.data:
                continue
            chunk = self._decode(event.data.encode())
            if "error" in chunk:
                raise self._failed_mid_answer(event.data)
            # The usage chunk of `stream_options.include_usage` has no choice.
            choice = _first_choice(chunk)
            content = _text(choice.get("delta"))
            if content:
                yield content
            finished = finished or bool(choice.get("finish_reason"))
        if not finished:
            raise UpstreamFailed(
                f"the answer stream from the LLM server at {self._shown_url} ended before the "
                "answer was complete",
                "upstream_stream_incomplete",
            )

    def _failed_mid_answer(self, data: str) -> UpstreamFailed:
        detail = _error_detail(data.encode()) or "unknown error"
        return UpstreamFailed(
            f"the LLM server at {self._shown_url} failed mid-answer: {self._redact(detail)}",
            "upstream_failed_mid_answer",
        )

    def _decode(self, data: bytes) -> dict[str, Any]:
        try:
            decoded = json.loads(data)
        except ValueError:
            decoded = None
        if not isinstance(decoded, dict):
            raise UpstreamFailed(
                f"the LLM server at {self._shown_url} sent data that is not a JSON object: "
                f"{self._redact(data[:200].decode(errors='replace'))!r}",
                "upstream_not_json",
            )
        return decoded

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return error.retry_after
        return float(self._jitter(state))

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "LLM request failed (%s); retrying in %.1f s, attempt %d of %d",
            error,
            wait,
            state.attempt_number + 1,
            self._attempts,
        )

    def _timed_out(self) -> UpstreamTimeout:
        return UpstreamTimeout(
            f"the LLM server at {self._shown_url} did not answer within {self._timeout:g} s; "
            "check that it is running and not overloaded, or raise ZHIKU_LLM_TIMEOUT_SECONDS",
            "upstream_timeout",
            seconds=self._timeout,
        )

    def _redact(self, text: str) -> str:
        """Some servers echo the key they rejected; it must not reach our logs or clients."""
        return text.replace(self._key, "[redacted]") if self._key else text


def _parse_base_url(value: str) -> httpx.URL:
    try:
        url = httpx.URL(value.strip())
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(
            "ZHIKU_LLM_BASE_URL must be an http(s) URL such as http://127.0.0.1:11434/v1"
        )
    return url


def _worth_retrying(error: BaseException) -> bool:
    """Only failures where the server did not start on the request; a read timeout means it
    may be generating, and trying again would double its load and the wait."""
    if isinstance(error, _Retryable):
        return error.retry_after is None or error.retry_after <= MAX_RETRY_AFTER_SECONDS
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _first_choice(chunk: dict[str, Any]) -> dict[str, Any]:
    choices = chunk.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return {}


def _text(part: Any) -> str:
    """The `content` of a message or delta, which may be absent or null."""
    content = part.get("content") if isinstance(part, dict) else None
    return content if isinstance(content, str) else ""


def _error_detail(content: bytes) -> str:
    """The upstream's own error message: OpenAI's `{"error": {"message"}}`, the bare strings
    other servers use, or the start of a non-JSON body."""
    try:
        data = json.loads(content)
    except ValueError:
        return content[:300].decode(errors="replace").strip()
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, str):
            return error
        if isinstance(error, dict):
            for key in ("message", "detail"):
                if isinstance(error.get(key), str):
                    return str(error[key])
    return json.dumps(data, ensure_ascii=False)[:300]
