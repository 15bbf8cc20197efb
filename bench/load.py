"""Load on a running service over loopback: N concurrent clients ask questions for a bounded
time; prints one JSON line with requests/s, latency percentiles, errors and the requests the
service refused with 429 (`limited`).

    python -m bench.load --url http://127.0.0.1:8000 --collection kb \
        [--clients 8] [--seconds 30] [--question "..."]...

The limiter's cost: run it against the service started with ZHIKU_RATE_LIMIT=0, then with a
limit it never reaches (ZHIKU_RATE_LIMIT=1000000/second), in memory or in Redis
(ZHIKU_RATE_LIMIT_STORAGE); with the default limit, `limited` shows the refusals.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx

DEFAULT_QUESTIONS = ["What is this document about?", "这份文档讲了什么？"]


async def client_loop(
    http: httpx.AsyncClient, path: str, questions: list[str], until: float, offset: int
) -> tuple[list[float], int, int]:
    latencies: list[float] = []
    errors = limited = 0
    i = offset
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            response = await http.post(path, json={"question": questions[i % len(questions)]})
            if response.status_code == 429:
                limited += 1
            elif response.status_code != 200:
                errors += 1
            else:
                latencies.append((time.perf_counter() - started) * 1000)
        except httpx.HTTPError:
            errors += 1
        i += 1
    return latencies, errors, limited


async def run(
    url: str, collection: str, clients: int, seconds: float, questions: list[str]
) -> dict[str, object]:
    path = f"/api/collections/{collection}/query"
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        started = time.monotonic()
        until = started + seconds
        results = await asyncio.gather(
            *(client_loop(http, path, questions, until, n) for n in range(clients))
        )
        elapsed = time.monotonic() - started
    latencies = sorted(ms for r in results for ms in r[0])
    errors = sum(r[1] for r in results)
    limited = sum(r[2] for r in results)

    def pct(q: float) -> float | None:
        return (
            round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)
            if latencies
            else None
        )

    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies) + errors + limited,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "errors": errors,
        "limited": limited,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="load a running Zhiku service over loopback")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--collection", required=True)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--question", action="append", dest="questions")
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        parser.error("load tests run against loopback only")
    result = asyncio.run(
        run(
            args.url,
            args.collection,
            args.clients,
            args.seconds,
            args.questions or DEFAULT_QUESTIONS,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
