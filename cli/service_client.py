"""The HTTP client the commands use to reach a running service: it waits out a 429 for as long
as the service's `Retry-After` says and tries again, so `zhiku add` of a large folder or
`zhiku eval` of a long set finishes under the service's rate limit (ZHIKU_RATE_LIMIT)
rather than failing part-way."""

from __future__ import annotations

import time

import httpx

# Tries of one request before its 429 is returned to the caller, and the longest wait between
# two: a limit per minute asks for at most 60 s.
ATTEMPTS = 8
LONGEST_WAIT = 60.0


class WaitOnRateLimit(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(ATTEMPTS - 1):
            response = self._inner.handle_request(request)
            if response.status_code != 429:
                return response
            response.read()
            response.close()
            time.sleep(retry_after(response))
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers["retry-after"]), 0.1), LONGEST_WAIT)
    except (KeyError, ValueError):
        return 1.0


def service_client(base_url: str, api_key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    return httpx.Client(
        base_url=base_url, timeout=300, headers=headers, transport=WaitOnRateLimit()
    )
