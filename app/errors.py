"""The one place that knows HTTP statuses: every error leaves as {"error": {code, message}}."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from core import errors

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
# method that does not exist) and by app/body_limits.py.
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
}

# What an error message must not show a client, whatever raised it: addresses (a store's URL,
# the LLM server's), host:port pairs and absolute file paths (the data directory's).
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
_HOST_PORT = re.compile(
    r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{2,5}\b", re.IGNORECASE
)
_PATH = re.compile(r"(?<![\w.~/-])(?:~|\.{1,2})?/(?:[^\s/'\"<>:]+/)+[^\s/'\"<>:,;)]*")


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


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
) -> dict[str, dict[str, str]]:
    """The body a client gets for `exc`; the operator's full message goes to the log, under
    the request's id, when the client's differs."""
    public = scrub(exc.public, _secrets(request))
    if public != exc.message:
        log.warning("%s: %s", exc.code, exc.message)
    return error_body(exc.code, public)


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
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in exc.errors()
        )
        return JSONResponse(error_body("invalid_request", problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "an internal error occurred; see the service log"),
            status_code=500,
        )
