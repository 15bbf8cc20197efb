"""Ingestion jobs: state and progress."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import EngineDep
from app.schemas import JobPublic

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("/{job_id}")
def get_job(job_id: str, engine: EngineDep) -> JobPublic:
    return JobPublic.of(engine.catalog.get_job(job_id))
