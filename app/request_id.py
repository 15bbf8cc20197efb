"""A request id for every HTTP request (asgi-correlation-id): the caller's `X-Request-ID` when
it is sane, else a new one; returned in the response's `X-Request-ID` and attached to every log
line written while the request is handled."""

from __future__ import annotations

import re

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI

from core.logging_setup import request_id

HEADER = "X-Request-ID"
# Ids from load balancers and tracing (UUIDs, hex, ULIDs); anything else, such as text that
# would forge log lines, is replaced.
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def is_sane(given: str) -> bool:
    return _SANE.fullmatch(given) is not None


def attach_to_logs(rid: str) -> str:
    """Puts the id where core's log filter reads it: core cannot read the library's own
    context variable without importing Starlette into the worker. The middleware calls this
    once per request, in the request's context, with the id it settled on."""
    request_id.set(rid)
    return rid


def install_request_ids(app: FastAPI) -> None:
    app.add_middleware(
        CorrelationIdMiddleware, header_name=HEADER, validator=is_sane, transformer=attach_to_logs
    )
