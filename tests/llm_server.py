"""A real OpenAI-compatible chat-completions server on loopback, scripted per test."""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Answer:
    """A 200 answer split into `deltas`: SSE when the request asks to stream (role-only first
    chunk, `: ping` keepalives, a finish chunk, a usage chunk if asked for, `[DONE]`), else one
    `chat.completion` object. `stream` overrides what the request asked for."""

    deltas: Sequence[str] = ("Hello", ", ", "world", ".")
    delay: float = 0.0
    """Seconds between deltas; the server stops early when the client goes away."""
    keepalive: bool = True
    stream: bool | None = None
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Fail:
    """An error status with an OpenAI-style body `{"error": {"message", "type", ...}}`."""

    status: int = 503
    message: str = "The server is overloaded, please try again later."
    retry_after: str | None = None
    error_type: str = "server_error"


@dataclass(frozen=True)
class Hang:
    """Read the request and answer nothing until the client goes away (or `seconds` pass)."""

    seconds: float = 30.0


@dataclass(frozen=True)
class BreakStream:
    """Start an SSE answer with `deltas`, then drop the connection mid-body, or, with `error`,
    send a `data: {"error": ...}` event and end the stream the way OpenAI does."""

    deltas: Sequence[str] = ("Hel", "lo")
    error: str | None = None


@dataclass(frozen=True)
class RawSSE:
    """A 200 `text/event-stream` body sent verbatim, one write per blank-line-separated event."""

    body: str


@dataclass(frozen=True)
class EchoSystem:
    """Answer with the request's own system message, verbatim, in deltas of `size` characters:
    a model that was talked into reciting its instructions."""

    size: int = 7
    before: str = ""


Reply = Answer | Fail | Hang | BreakStream | RawSSE | EchoSystem


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: Any
    """The parsed JSON body, or None."""


@dataclass
class _State:
    script: deque[Reply]
    then: Reply
    models: Sequence[str]
    requests: list[RecordedRequest] = field(default_factory=list)
    disconnects: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    disconnected: threading.Event = field(default_factory=threading.Event)
    closing: threading.Event = field(default_factory=threading.Event)
    connections: set[socket.socket] = field(default_factory=set)

    def next_reply(self) -> Reply:
        with self.lock:
            return self.script.popleft() if self.script else self.then


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close, so a test ends with no thread left behind.
    daemon_threads = False
    state: _State


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # A socket timeout bounds every blocking read, so closing the server never waits long.
    timeout = 10
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.state.lock:
            self.server.state.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.state.lock:
            self.server.state.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows failures, not access logs."""

    def do_GET(self) -> None:
        self._record(None)
        if self.path.rstrip("/") == "/v1/models":
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                for m in self.server.state.models
            ]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_error(404, f"Unknown path {self.path}", "invalid_request_error")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self._record(body)
        if self.path != "/v1/chat/completions":
            self._send_error(404, f"Unknown path {self.path}", "invalid_request_error")
            return
        if not isinstance(body, dict):
            self._send_error(400, "The body must be a JSON object", "invalid_request_error")
            return
        reply = self.server.state.next_reply()
        if isinstance(reply, EchoSystem):
            reply = _echo(reply, body)
        if isinstance(reply, Answer):
            self._answer(reply, body)
        elif isinstance(reply, Fail):
            headers = {"Retry-After": reply.retry_after} if reply.retry_after is not None else {}
            self._send_error(reply.status, reply.message, reply.error_type, headers)
        elif isinstance(reply, Hang):
            self.close_connection = True
            self._wait_unless_gone(reply.seconds)
        elif isinstance(reply, BreakStream):
            self._break_stream(reply, body)
        else:
            self._start_sse()
            for event in reply.body.split("\n\n"):
                if event:
                    self._send_chunk(event + "\n\n")
            self._end_chunks()

    def _record(self, body: Any) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = RecordedRequest(self.command, self.path, headers, body)
        with self.server.state.lock:
            self.server.state.requests.append(request)

    def _answer(self, reply: Answer, body: dict[str, Any]) -> None:
        model = str(body.get("model", "fake-model"))
        streaming = bool(body.get("stream")) if reply.stream is None else reply.stream
        if not streaming:
            message = {"role": "assistant", "content": "".join(reply.deltas)}
            self._send_json(200, _completion(model, message, reply.finish_reason))
            return
        self._start_sse()
        self._send_event(_chunk(model, {"role": "assistant"}))
        for delta in reply.deltas:
            if self._wait_unless_gone(reply.delay):
                return
            if reply.keepalive:
                self._send_chunk(": ping\n\n")
            if not self._send_event(_chunk(model, {"content": delta})):
                return
        self._send_event(_chunk(model, {}, reply.finish_reason))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": 1, "completion_tokens": len(reply.deltas)}
            self._send_event({**_chunk(model, {}), "choices": [], "usage": usage})
        self._send_chunk("data: [DONE]\n\n")
        self._end_chunks()

    def _break_stream(self, reply: BreakStream, body: dict[str, Any]) -> None:
        model = str(body.get("model", "fake-model"))
        self._start_sse()
        self._send_event(_chunk(model, {"role": "assistant"}))
        for delta in reply.deltas:
            self._send_event(_chunk(model, {"content": delta}))
        if reply.error is not None:
            self._send_event({"error": {"message": reply.error, "type": "server_error"}})
            self._end_chunks()
        else:
            # Closing without the terminating chunk cuts the body off mid-way.
            self.close_connection = True

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _send_event(self, data: dict[str, Any]) -> bool:
        return self._send_chunk(f"data: {json.dumps(data, ensure_ascii=False)}\n\n")

    def _send_chunk(self, text: str) -> bool:
        """Write one HTTP chunk; False (and a recorded disconnect) when the client is gone."""
        data = text.encode()
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except OSError:
            self._gone()
            return False
        return True

    def _end_chunks(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self._gone()

    def _wait_unless_gone(self, seconds: float) -> bool:
        """Wait up to `seconds`; True as soon as the client has closed its side."""
        deadline = time.monotonic() + seconds
        while True:
            readable, _, _ = select.select([self.connection], [], [], 0.0)
            if readable:
                try:
                    peeked = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    peeked = b""
                if not peeked:
                    self._gone()
                    return True
            left = deadline - time.monotonic()
            if left <= 0 or self.server.state.closing.is_set():
                return False
            self.server.state.closing.wait(min(left, 0.01))

    def _gone(self) -> None:
        self.close_connection = True
        state = self.server.state
        with state.lock:
            state.disconnects += 1
        state.disconnected.set()

    def _send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(data, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_error(
        self, status: int, message: str, error_type: str, headers: dict[str, str] | None = None
    ) -> None:
        error = {"message": message, "type": error_type, "param": None, "code": None}
        self._send_json(status, {"error": error}, headers)


def _echo(reply: EchoSystem, body: dict[str, Any]) -> Answer:
    messages = body.get("messages") or []
    system = next((m.get("content", "") for m in messages if m.get("role") == "system"), "")
    text = reply.before + system
    return Answer(tuple(text[i : i + reply.size] for i in range(0, len(text), reply.size)))


def _chunk(model: str, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _completion(model: str, message: dict[str, str], finish_reason: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class FakeOpenAI:
    """`with FakeOpenAI(script=[Fail(503), Answer(("Hi",))]) as server:` serves the replies in
    order, one per chat-completions request, then `then` for every later request; its
    `base_url` is "http://127.0.0.1:PORT/v1"."""

    def __init__(
        self,
        script: Iterable[Reply] = (),
        then: Reply | None = None,
        models: Sequence[str] = ("fake-model",),
    ) -> None:
        self._state = _State(deque(script), then or Answer(), models)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self._state
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def reply_with(self, reply: Reply) -> None:
        """From now on, answer every request without a scripted reply with `reply`."""
        with self._state.lock:
            self._state.then = reply

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def completions(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    @property
    def disconnects(self) -> int:
        """Responses the client abandoned before the server finished them."""
        with self._state.lock:
            return self._state.disconnects

    def wait_for_disconnect(self, timeout: float = 5.0) -> bool:
        return self._state.disconnected.wait(timeout)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._state.closing.set()
        self._server.shutdown()
        # Idle keep-alive connections would hold their handler threads until the socket timeout.
        with self._state.lock:
            connections = list(self._state.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join()


async def leave_early(stream: AsyncGenerator[str, None], how: str) -> str:
    """Stop reading an answer after its first delta, as a client that goes away does: by
    closing the stream (`aclose`) or by cancelling the task reading it (`cancel`). Returns the
    first delta."""
    if how == "aclose":
        first = await anext(stream)
        await stream.aclose()
        return first
    seen: list[str] = []
    started = asyncio.Event()

    async def consume() -> None:
        async for delta in stream:
            seen.append(delta)
            started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    # Cancelled inside the stream's own step, so the stream itself must let go; or already
    # done, when the whole answer came without waiting.
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return seen[0]
