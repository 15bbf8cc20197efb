"""The one place that knows HTTP statuses: every error leaves as {"error": {code, message,
params}}, its code one of core/messages.py."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from core import errors
from core.messages import Reason

log = logging.getLogger("zhiku.http")

STATUS: dict[type[errors.ZhikuError], int] = {
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.UnsupportedMedia: 415,
    errors.InvalidInput: 422,
    # Well formed but refused by policy (内容安全), as OpenAI answers content-policy refusals.
    errors.ContentRefused: 400,
    errors.LoadError: 422,
    errors.UpstreamFailed: 502,
    errors.UpstreamTimeout: 504,
    errors.BackendUnavailable: 503,
    errors.ConfigError: 500,
}


# Errors raised as HTTP exceptions by the framework (a body that cannot be parsed, a path or
# method that does not exist) and by app/body_limits.py, which carries its own reason.
HTTP_CODES = {400: "bad_request", 404: "route_not_found", 405: "method_not_allowed"}

# pydantic's error types, as the codes of core/messages.py; the validators of app/schemas.py
# raise theirs under the code itself.
VALIDATION_CODES = {
    "missing": "field_missing",
    "string_too_short": "field_too_short",
    "too_short": "field_too_short",
    "string_too_long": "field_too_long",
    "too_long": "field_too_long",
    "greater_than": "number_too_small",
    "greater_than_equal": "number_too_small",
    "less_than": "number_too_large",
    "less_than_equal": "number_too_large",
    "json_invalid": "body_not_json",
    "question_empty": "question_empty",
    "last_message_not_user": "last_message_not_user",
}
# The bound a pydantic error names, whichever kind it is.
_LIMITS = ("min_length", "max_length", "ge", "gt", "le", "lt")

# What an error message must not show a client, whatever raised it: addresses (a store's URL,
# the LLM server's), host:port pairs and absolute file paths (the data directory's).
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
_HOST_PORT = re.compile(
    r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{2,5}\b", re.IGNORECASE
)
_PATH = re.compile(r"(?<![\w.~/-])(?:~|\.{1,2})?/(?:[^\s/'\"<>:]+/)+[^\s/'\"<>:,;)]*")


def error_body(reason: Reason, message: str | None = None) -> dict[str, dict[str, Any]]:
    """The envelope of every error: the code, its English text (`message` where it differs
    from the one rendered from the code) and its parameters."""
    text = reason.text if message is None else message
    return {"error": {"code": reason.code, "message": text, "params": reason.params}}


def scrub(message: str, secrets: frozenset[str] = frozenset()) -> str:
    for secret in secrets:
        message = message.replace(secret, "[redacted]")
    message = _URL.sub("[address]", message)
    message = _HOST_PORT.sub("[address]", message)
    return _PATH.sub("[path]", message)


def _secrets(request: Request | None) -> frozenset[str]:
    settings = getattr(request.app.state, "settings", None) if request is not None else None
    if settings is None:
        return frozenset()
    keys = {settings.llm_api_key.get_secret_value(), settings.milvus_token.get_secret_value()}
    return frozenset(k for k in keys | set(settings.accepted_api_keys) if len(k) >= 4)


def public_error(
    exc: errors.ZhikuError, request: Request | None = None
) -> dict[str, dict[str, Any]]:
    """The body a client gets for `exc`; the operator's full message goes to the log, under
    the request's id, when the client's differs."""
    secrets = _secrets(request)
    public = scrub(exc.public, secrets)
    if public != exc.message:
        log.warning("%s: %s", exc.code, exc.message)
    params = {k: scrub(v, secrets) if isinstance(v, str) else v for k, v in exc.params.items()}
    return error_body(Reason(exc.code, params), public)


def validation_reason(error: Mapping[str, Any]) -> Reason:
    """One problem pydantic found, as a code with the field it is in and its bound."""
    field = ".".join(str(p) for p in error["loc"] if p != "body") or "body"
    params: dict[str, Any] = {"field": field, "problem": error["msg"]}
    context = error.get("ctx") or {}
    for bound in _LIMITS:
        if isinstance(context.get(bound), int | float):
            params["limit"] = context[bound]
    return Reason(VALIDATION_CODES.get(error["type"], "field_invalid"), params)


def allowed_methods(request: Request) -> str:
    """Every method the path answers: Starlette's 405 names only those of the first route that
    matched the path, and each method of a path is a route of its own here."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def status_of(exc: errors.ZhikuError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.ZhikuError)
    async def zhiku_error(request: Request, exc: errors.ZhikuError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, errors.Unauthorized) else None
        return JSONResponse(public_error(exc, request), status_code=status_of(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The first problem gives the code; the message names them all, as it always has.
        reasons = [validation_reason(e) for e in exc.errors()]
        message = "; ".join(r.text for r in reasons)
        return JSONResponse(error_body(reasons[0], message), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        reason = getattr(exc, "reason", None)
        if not isinstance(reason, Reason):
            code = HTTP_CODES.get(exc.status_code, "http_error")
            params: dict[str, Any] = {"problem": str(exc.detail), "status": exc.status_code}
            if exc.status_code == 405:
                headers["Allow"] = allowed_methods(request)
                params = {"method": request.method}
            elif exc.status_code == 404:
                params = {"path": request.url.path}
            reason = Reason(code, params)
        return JSONResponse(error_body(reason), status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(error_body(Reason("internal_error")), status_code=500)
