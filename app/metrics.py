"""`GET /metrics` for Prometheus: HTTP requests and their latency by route template
(prometheus-fastapi-instrumentator), jobs by state and the queue depth read from the catalog at
scrape time, and the worker's and answer service's own metrics (core/telemetry.py)."""

from __future__ import annotations

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
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator.metrics import Info

from core.catalog import Jobs
from core.catalog.records import JobState

# Defined here, once per process, rather than by the instrumentator's own metric functions,
# which register theirs with every app built (tests build many) and keep only the first; the
# names and labels are the ones dashboards already use.
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
# unbounded label values. The instrumentator names them "none".
UNMATCHED = "unmatched"


def record_request(info: Info) -> None:
    route = info.modified_handler if info.modified_handler != "none" else UNMATCHED
    REQUESTS.labels(info.method, route, info.modified_status).inc()
    REQUEST_SECONDS.labels(info.method, route).observe(info.modified_duration)


class JobsCollector(Collector):
    """Jobs by state and the queue depth, counted in the catalog at each scrape, so every
    replica reports the same truth whichever process ran the jobs."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        resources = getattr(self._app.state, "resources", None)
        if resources is None:
            return
        jobs: Jobs = resources.catalog
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
    # Streamed answers are timed until their last event; the middleware passes them through.
    Instrumentator(should_group_status_codes=False).add(record_request).instrument(app)
    per_app = CollectorRegistry(auto_describe=True)
    per_app.register(JobsCollector(app))

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        body = generate_latest(REGISTRY) + generate_latest(per_app)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
