"""A request id for every HTTP request: the caller's `X-Request-ID` when it is sane, else a
new one; returned in the response's `X-Request-ID` and attached to every log line written
while the request is handled."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logging_setup import request_id

HEADER = "X-Request-ID"
# Ids from load balancers and tracing (UUIDs, hex, ULIDs); anything else, such as text that
# would forge log lines, is replaced.
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def choose_request_id(given: str | None) -> str:
    if given is not None and _SANE.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure ASGI, so streamed answers pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = MutableHeaders(scope=scope)
        rid = choose_request_id(headers.get(HEADER))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
