"""Evaluations of a collection: run a golden set against it in the background, follow its
progress, read its report (JSON, or a page with a chart per metric), delete it."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import PurePosixPath
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from app.deps import CollectionDep, EvaluationRunsDep, SettingsDep, WritableCollectionDep
from app.evaluation_schemas import (
    MAX_QUESTIONS,
    EvaluationCreate,
    EvaluationOptions,
    EvaluationPublic,
)
from app.openapi_errors import BODY, IN_COLLECTION, errors
from app.questions import top_k_for
from core.errors import Conflict, InvalidInput, TooLarge
from core.evaluation.golden import parse_golden
from core.evaluation.html import render_html
from core.evaluation.report import EvaluationReport
from core.settings import Settings

router = APIRouter(
    prefix="/api/collections/{name}/evaluations",
    tags=["evaluations"],
    responses=errors(*IN_COLLECTION),
)


_MULTIPART = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "the golden set: JSON lines (.jsonl), SQuAD JSON (.json) or CSV (.csv)",
        },
        "top_k": {"type": "integer", "minimum": 1, "maximum": 50},
    },
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": _MULTIPART},
            "application/json": {"schema": EvaluationCreate.model_json_schema()},
        },
    }
}


@router.post("", status_code=202, responses=errors(*BODY), openapi_extra=_BODY)
async def start_evaluation(
    request: Request,
    collection: WritableCollectionDep,
    runs: EvaluationRunsDep,
    settings: SettingsDep,
) -> EvaluationPublic:
    """The golden set is read and checked before anything runs (422 naming the line and the
    problem); the run then asks each question in the background: follow it at
    `GET …/evaluations/{id}`. 409 while another run of the collection is under way."""
    data, filename, top_k = await _golden(request, settings)
    items = await asyncio.to_thread(parse_golden, data, filename)
    questions = sum(len(item.asked) for item in items)
    if questions > MAX_QUESTIONS:
        raise InvalidInput("golden_too_many_questions", count=questions, limit=MAX_QUESTIONS)
    evaluation = runs.start(collection, items, filename, top_k_for(top_k, collection))
    return EvaluationPublic.of(evaluation)


async def _golden(request: Request, settings: Settings) -> tuple[bytes, str, int | None]:
    """The golden file's bytes, its name (which says its format) and the top_k asked for."""
    kind = request.headers.get("content-type", "").lower()
    if kind.startswith("multipart/form-data"):
        # Closed when read: its spooled files go with it.
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("golden_file_missing")
            data = await upload.read(settings.max_upload_bytes + 1)
            name = _file_name(upload.filename)
            if len(data) > settings.max_upload_bytes:
                raise TooLarge("file_over_limit", file=name, limit_mb=settings.max_upload_mb)
            options = _validated(EvaluationOptions, {"top_k": form.get("top_k") or None})
        return data, name, options.top_k
    if kind.startswith("application/json"):
        body = _validated(EvaluationCreate, await request.body())
        # The entries as the JSON list a golden file may be, so one parser checks both.
        data = json.dumps(body.items, ensure_ascii=False).encode()
        name = body.name if body.name.lower().endswith(".json") else f"{body.name}.json"
        return data, name, body.top_k
    raise InvalidInput("golden_file_missing")


def _file_name(given: str | None) -> str:
    """The name a run is shown and stored under: the file's own, without folders or control
    characters (a PostgreSQL text column refuses NUL); its extension says the set's format."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", PurePosixPath((given or "").replace("\\", "/")).name)
    return name[-200:] or "golden.jsonl"


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], value: Any) -> M:
    """As FastAPI validates a body it reads itself: a 422 naming each problem."""
    try:
        if isinstance(value, bytes):
            return model.model_validate_json(value)
        return model.model_validate(value)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc


@router.get("")
def list_evaluations(collection: CollectionDep, runs: EvaluationRunsDep) -> list[EvaluationPublic]:
    """The collection's runs, newest first (the latest 50), without their reports."""
    return [EvaluationPublic.of(e, with_report=False) for e in runs.in_collection(collection)]


@router.get("/{evaluation_id}")
def get_evaluation(
    collection: CollectionDep, evaluation_id: str, runs: EvaluationRunsDep
) -> EvaluationPublic:
    return EvaluationPublic.of(runs.get(collection, evaluation_id))


# The report is the service's own markup around the set's text, which it escapes; its styles
# are inline and its charts inline SVG. No script runs, and it is sandboxed from the page's key.
REPORT_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@router.get(
    "/{evaluation_id}/report.html",
    response_class=Response,
    responses={
        **errors(409),
        200: {"description": "The report page", "content": {"text/html": {}}},
    },
)
def evaluation_report_page(
    collection: CollectionDep, evaluation_id: str, runs: EvaluationRunsDep
) -> HTMLResponse:
    """The report as a page with a chart per metric. 409 until the run is done."""
    evaluation = runs.get(collection, evaluation_id)
    if evaluation.report is None:
        raise Conflict("evaluation_not_done", evaluation=evaluation.id, state=evaluation.state)
    page = render_html(EvaluationReport.model_validate(evaluation.report))
    headers = {"Content-Security-Policy": REPORT_POLICY, "Cache-Control": "private, no-cache"}
    return HTMLResponse(page, headers=headers)


@router.delete("/{evaluation_id}", status_code=204)
def delete_evaluation(
    collection: WritableCollectionDep, evaluation_id: str, runs: EvaluationRunsDep
) -> Response:
    """A run under way stops; its record goes either way."""
    runs.delete(collection, evaluation_id)
    return Response(status_code=204)
