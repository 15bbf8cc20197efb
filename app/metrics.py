"""`GET /metrics` for Prometheus: HTTP requests and their latency by route template, jobs by
state and the queue depth read from the catalog at scrape time, and the worker's and answer
service's own metrics (core/telemetry.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.catalog import Jobs
from core.catalog.records import JobState

REQUESTS = Counter(
    "zhiku_http_requests", "HTTP requests by route template", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "zhiku_http_request_duration_seconds",
    "HTTP request latency by route template, until the response is sent in full",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
# Paths that match no route are counted together: raw paths would let any client create
# unbounded label values.
UNMATCHED = "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_see(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_see)
        finally:
            # The router records the matched route in the scope it was given.
            route = getattr(scope.get("route"), "path", UNMATCHED)
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)


class JobsCollector(Collector):
    """Jobs by state and the queue depth, counted in the catalog at each scrape, so every
    replica reports the same truth whichever process ran the jobs."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        engine = getattr(self._app.state, "engine", None)
        if engine is None:
            return
        jobs: Jobs = engine.catalog
        counts = {state.value: 0 for state in JobState}
        counts.update(jobs.count_jobs())
        by_state = GaugeMetricFamily("zhiku_jobs", "Ingestion jobs by state", labels=["state"])
        for state, count in sorted(counts.items()):
            by_state.add_metric([state], count)
        yield by_state
        yield GaugeMetricFamily(
            "zhiku_queue_depth",
            "Jobs waiting for a worker",
            value=counts[JobState.QUEUED.value],
        )


def install_metrics(app: FastAPI) -> None:
    app.add_middleware(MetricsMiddleware)
    per_app = CollectorRegistry(auto_describe=True)
    per_app.register(JobsCollector(app))

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        body = generate_latest(REGISTRY) + generate_latest(per_app)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
