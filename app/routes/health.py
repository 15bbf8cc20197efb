"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.deps import EngineDep
from app.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health)
def readyz(engine: EngineDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        engine.catalog.ping()
        checks["catalog"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["catalog"] = f"fail: {type(exc).__name__}"
    checks["embedding_model"] = "ok" if engine.embedder.loaded else "loading"
    ok = all(v == "ok" for v in checks.values())
    body = Health(status="ok" if ok else "fail", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
