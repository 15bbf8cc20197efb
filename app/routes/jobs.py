"""Ingestion jobs: state and progress."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import EngineDep
from app.schemas import JobPublic
from ingest.intake import UNKNOWN_MEDIA

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("/{job_id}")
def get_job(job_id: str, engine: EngineDep) -> JobPublic:
    return JobPublic.of(engine.catalog.get_job(job_id))


@router.post("/{job_id}/cancel")
def cancel_job(job_id: str, engine: EngineDep) -> JobPublic:
    job = engine.catalog.cancel_job(job_id)
    engine.store.delete_document(job.collection_id, job.document_id)
    return JobPublic.of(job)


@router.post("/{job_id}/retry", status_code=202)
def retry_job(job_id: str, engine: EngineDep) -> JobPublic:
    job = engine.catalog.retry_job(job_id, UNKNOWN_MEDIA)
    engine.wake()
    return JobPublic.of(job)
