"""Request rates, counted by the kept `limits` library: requests per API key (or per client
address without one, ZHIKU_RATE_LIMIT) and failed-key attempts per client address
(ZHIKU_AUTH_FAILURE_LIMIT). Both are refused with 429, `Retry-After` and a JSON error before the
request reaches authentication or a route. The counts live in Redis when one is configured, so
every replica counts the same requests.

Pure ASGI rather than BaseHTTPMiddleware (as slowapi's middleware is), so streamed answers
pass through unbuffered."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from redis.asyncio import ConnectionPool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body
from core.messages import Reason
from core.settings import Settings

log = logging.getLogger("zhiku.limits")

# Probes, scrapes and the page's own files are never refused: an orchestrator must see a busy
# service as alive, and the page must load to show why its calls are refused.
EXEMPT_PATHS = frozenset({"/", "/healthz", "/readyz", "/metrics", "/favicon.ico"})
EXEMPT_PREFIXES = ("/static/",)
# Keys in Redis start with this, apart from the queue's.
KEY_PREFIX = "zhiku-limits"


def is_exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)


def limits_of(notation: str) -> list[RateLimitItem]:
    """The limits a setting names; none for "" or "0" (turned off)."""
    return [] if notation in ("", "0") else parse_many(notation)


def storage_uri(settings: Settings) -> str:
    """The `limits` async storage: ZHIKU_RATE_LIMIT_STORAGE, else the queue's Redis, else
    this process's memory."""
    uri = settings.rate_limit_storage or (
        settings.queue_url
        if settings.queue_url and settings.queue_url.startswith(("redis://", "rediss://"))
        else "memory://"
    )
    return uri if uri.startswith("async+") else f"async+{uri}"


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def requester(scope: Scope, headers: Headers) -> str:
    """Who a request counts against: its bearer token, hashed (never stored or logged as it
    is, and not checked here: a wrong key still counts, against itself), else its address."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "key:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return "address:" + client_address(scope)


@dataclass
class Counters:
    """The limits in force and where they are counted; made when the app starts, closed when
    it stops (app.main), so no connection to Redis outlives the service's event loop."""

    limiter: SlidingWindowCounterRateLimiter
    requests: list[RateLimitItem]
    auth_failures: list[RateLimitItem]
    pool: ConnectionPool | None = None
    failing: bool = False

    @classmethod
    def of(cls, settings: Settings) -> Counters:
        uri = storage_uri(settings)
        scheme = uri.split(":")[0]
        options: dict[str, Any] = {}
        pool = None
        if "redis" in scheme:
            # redis-py, which the queue uses already, rather than the library's default coredis;
            # a Redis that does not answer delays a request by a second at most.
            options = {"key_prefix": KEY_PREFIX, "implementation": "redispy"}
            if scheme in ("async+redis", "async+rediss"):
                # Our own pool, so that shutdown can close its connections.
                pool = ConnectionPool.from_url(
                    uri.removeprefix("async+"), socket_timeout=1.0, socket_connect_timeout=1.0
                )
                options["connection_pool"] = pool
            else:
                options.update(socket_timeout=1.0, socket_connect_timeout=1.0)
        storage = storage_from_string(uri, **options)
        # The async+ scheme gives the asyncio variant.
        assert isinstance(storage, Storage)
        return cls(
            SlidingWindowCounterRateLimiter(storage),
            limits_of(settings.rate_limit),
            limits_of(settings.auth_failure_limit),
            pool,
        )

    async def aclose(self) -> None:
        if self.pool is not None:
            await self.pool.disconnect()

    async def refused(self, items: list[RateLimitItem], who: str, count: bool) -> int | None:
        """Seconds to wait when `who` is over one of `items`, else None; counts this request
        against them when `count`."""
        try:
            wait = await self._first_refusal(items, who, count)
        except Exception as exc:  # the storage's own errors vary with the backend
            # Redis being away must not take the service down with it: serve, unlimited, and
            # say so once rather than on every request.
            if not self.failing:
                log.warning("rate limits are not counted: %s: %s", type(exc).__name__, exc)
            self.failing = True
            return None
        if self.failing:
            log.info("rate limits are counted again")
            self.failing = False
        return wait

    async def _first_refusal(self, items: list[RateLimitItem], who: str, count: bool) -> int | None:
        for item in items:
            allowed = await (self.limiter.hit if count else self.limiter.test)(item, who)
            if not allowed:
                stats = await self.limiter.get_window_stats(item, who)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return None


class RequestLimits:
    """Refuses a request over its rate, or from an address that sent too many wrong keys;
    counts each 401 it lets through for a request with a key against the address it came
    from."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        counters: Counters | None = getattr(scope["app"].state, "rate_counters", None)
        if counters is None:
            await self.app(scope, receive, send)
            return
        address = "address:" + client_address(scope)
        headers = Headers(scope=scope)
        wait = await counters.refused(counters.auth_failures, "auth:" + address, count=False)
        if wait is not None:
            await too_many(send, wait, "auth_rate_limited")
            return
        wait = await counters.refused(counters.requests, requester(scope, headers), count=True)
        if wait is not None:
            await too_many(send, wait, "rate_limited")
            return

        # A request without a key is no guess (the page asks for one after such a 401).
        guessing = "authorization" in headers

        async def send_counting_failures(message: Message) -> None:
            if guessing and message["type"] == "http.response.start" and message["status"] == 401:
                await counters.refused(counters.auth_failures, "auth:" + address, count=True)
            await send(message)

        await self.app(scope, receive, send_counting_failures)


async def too_many(send: Send, wait: int, code: str) -> None:
    reason = Reason(code, {"retry_after": wait})
    body = json.dumps(error_body(reason), separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(wait).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
