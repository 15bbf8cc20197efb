"""Ingestion jobs: state and progress, cancel and retry."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import JobDep, OperationsDep, WritableJobDep
from app.openapi_errors import errors
from app.schemas import JobPublic

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=errors(404))


@router.get("/{job_id}")
def get_job(job: JobDep) -> JobPublic:
    return JobPublic.of(job)


@router.post("/{job_id}/cancel", responses=errors(409))
def cancel_job(job: WritableJobDep, operations: OperationsDep) -> JobPublic:
    return JobPublic.of(operations.cancel_job(job.id))


@router.post("/{job_id}/retry", status_code=202, responses=errors(409))
def retry_job(job: WritableJobDep, operations: OperationsDep) -> JobPublic:
    return JobPublic.of(operations.retry_job(job.id))
