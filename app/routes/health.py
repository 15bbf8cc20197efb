"""Liveness and readiness."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.deps import ResourcesDep, WorkerDep
from app.errors import scrub
from app.schemas import Health
from core.errors import ZhikuError
from core.resources import Resources

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> Health:
    return Health(status="ok")


# 503 with the same body, naming the part that is not ready.
NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"model": Health, "description": "A part of the service is not ready"}
}


@router.get("/readyz", response_model=Health, responses=NOT_READY)
def readyz(resources: ResourcesDep, worker: WorkerDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        resources.catalog.ping()
        checks["catalog"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["catalog"] = f"fail: {type(exc).__name__}"
    try:
        resources.store.ping()
        checks["vector_store"] = "ok"
    except ZhikuError as exc:
        # /readyz is open to anyone: the store's address stays out of it.
        checks["vector_store"] = f"fail: {scrub(exc.message)}"
    checks["embedding_model"] = "ok" if resources.embedder.loaded else "loading"
    if worker is not None:
        checks["worker"] = worker.state
    checks["jobs"] = _job_progress(resources)
    ok = all(v == "ok" for v in checks.values())
    body = Health(status="ok" if ok else "fail", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


def _job_progress(resources: Resources) -> str:
    """From the catalog, so that it holds for workers in other processes too (scale-out): a
    job running with no progress (claim, pages, vectors) for worker_stall_seconds means its
    worker is stuck, or died and no worker is left to take its job over."""
    seconds = resources.settings.worker_stall_seconds
    try:
        stalled = resources.catalog.stalled_jobs(seconds)
    except Exception as exc:  # the catalog check above already says what failed
        return f"fail: {type(exc).__name__}"
    if not stalled:
        return "ok"
    idle = time.time() - stalled[0].updated_at
    return (
        f"stalled: {len(stalled)} running job(s) made no progress for over {seconds:g} s"
        f" (job {stalled[0].id}: {idle:.0f} s)"
    )
