"""Request body sizes, refused with 413 and a JSON error before the body is read or parsed: at
once from its Content-Length, or as it arrives when it has none (chunked). Uploads
(multipart/form-data) may carry ZHIKU_MAX_UPLOAD_REQUEST_MB in all; any other body,
ZHIKU_MAX_JSON_KB. Pure ASGI, so streamed answers pass through unbuffered."""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body
from core.messages import Reason
from core.settings import Settings

# What a multipart body adds around its files (boundaries, part headers): room for the
# largest number of files a request may carry, at 4 KB each.
PART_OVERHEAD = 4096


def body_limit(settings: Settings, headers: Headers) -> tuple[int, Reason]:
    """The largest body this request may send, and the reason that refuses it."""
    if headers.get("content-type", "").lower().startswith("multipart/form-data"):
        limit = settings.max_upload_request_bytes + PART_OVERHEAD * settings.max_upload_files
        return limit, Reason("upload_over_limit", {"limit_mb": settings.max_upload_request_mb})
    return settings.max_json_kb * 1024, Reason(
        "body_over_limit", {"limit_kb": settings.max_json_kb}
    )


def content_length(headers: Headers) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


class TooLargeBody(HTTPException):
    """Raised from `receive` while the app reads a body that outgrew its limit: FastAPI lets an
    HTTPException from the body read through to the error handlers (app/errors.py)."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(status_code=413, detail=reason.text)
        self.reason = reason


class BodyLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings: Settings | None = (
            getattr(scope["app"].state, "settings", None) if scope["type"] == "http" else None
        )
        if settings is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit, reason = body_limit(settings, headers)
        declared = content_length(headers)
        if declared is not None and declared > limit:
            # Answered before anything reads the body; the server then closes the connection.
            await refuse(send, reason)
            return
        received = 0
        started = False

        async def receive_within_limit() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > limit:
                    raise TooLargeBody(reason)
            return incoming

        async def send_noting_start(outgoing: Message) -> None:
            nonlocal started
            started = started or outgoing["type"] == "http.response.start"
            await send(outgoing)

        try:
            await self.app(scope, receive_within_limit, send_noting_start)
        except TooLargeBody:
            # Read where no error handler runs (outside a route's body parsing).
            if started:
                raise
            await refuse(send, reason)


async def refuse(send: Send, reason: Reason) -> None:
    body = json.dumps(error_body(reason), separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
