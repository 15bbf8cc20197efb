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
from core.settings import Settings

# What a multipart body adds around its files (boundaries, part headers): room for the
# largest number of files a request may carry, at 4 KB each.
PART_OVERHEAD = 4096


def body_limit(settings: Settings, headers: Headers) -> tuple[int, str]:
    """The largest body this request may send, and the message that refuses it."""
    if headers.get("content-type", "").lower().startswith("multipart/form-data"):
        limit = settings.max_upload_request_bytes + PART_OVERHEAD * settings.max_upload_files
        return limit, (
            f"the upload is over {settings.max_upload_request_mb:g} MB in all"
            " (ZHIKU_MAX_UPLOAD_REQUEST_MB); send its files in several requests"
        )
    return settings.max_json_kb * 1024, (
        f"the request body is over {settings.max_json_kb} KB (ZHIKU_MAX_JSON_KB)"
    )


def content_length(headers: Headers) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


class TooLargeBody(HTTPException):
    """Raised from `receive` while the app reads a body that outgrew its limit: FastAPI lets an
    HTTPException from the body read through to the error handlers (app/errors.py)."""

    def __init__(self, message: str) -> None:
        super().__init__(status_code=413, detail=message)


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
        limit, message = body_limit(settings, headers)
        declared = content_length(headers)
        if declared is not None and declared > limit:
            # Answered before anything reads the body; the server then closes the connection.
            await refuse(send, message)
            return
        received = 0
        started = False

        async def receive_within_limit() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > limit:
                    raise TooLargeBody(message)
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
            await refuse(send, message)


async def refuse(send: Send, message: str) -> None:
    body = json.dumps(error_body("too_large", message), separators=(",", ":")).encode()
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
