"""The error answers the OpenAPI document lists, from one definition: each status with the JSON
error body every error has (app/errors.py) and what it means here. Routers and routes name the
statuses they give with `errors(...)`; the statuses every protected route gives are named once
where the routers are included (app/main.py); 403 goes on exactly the routes that depend on a
write or admin check, found from their own dependencies so the document cannot drift."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from app.deps import REFUSING


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable code for the error, one per kind of message")
    message: str = Field(description="What went wrong and how to fix it, in English")
    params: dict[str, Any] = Field(
        description="The values the message names (a collection's name, a limit), for"
        " clients that say the code in their own words"
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


MEANINGS = {
    400: "The body could not be read (a malformed multipart upload), or a question was refused"
    " by the deployment's content-safety word lists (code content_refused).",
    401: "No API key, or not one the service accepts.",
    403: "The API key may read this collection but not change it, or is not admin.",
    404: "The collection, document, conversation, job or evaluation does not exist.",
    409: "The request clashes with what is stored (a name taken, a job in another state, a"
    " collection made with another embedding model, an evaluation under way).",
    413: "The body, an uploaded file, or the files of one request are over their limits.",
    415: "An uploaded file is of a type the service cannot read.",
    422: "A value is malformed or over its limit (question length, messages, top_k).",
    429: "Too many requests, or too many wrong API keys, from this client; see Retry-After.",
}

# Every route behind the API key: the key is checked and the rate counted before it runs, and
# its parameters or body can be malformed.
PROTECTED = (401, 422, 429)
# A route with a body to read.
BODY = (400, 413)
# A route under /api/collections/{name}: the collection may not exist or not fit this process.
IN_COLLECTION = (404, 409)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a router or route: the statuses given, each with the error body."""
    answers: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": MEANINGS[status]}
        for status in sorted(set(statuses))
    }
    if 429 in answers:
        answers[429]["headers"] = {"Retry-After": RETRY_AFTER}
    return answers


RETRY_AFTER = {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}


def _calls(dependant: Dependant) -> set[Any]:
    found = set()
    for dependency in dependant.dependencies:
        found.add(dependency.call)
        found |= _calls(dependency)
    return found


def document_refusals(guarded: APIRouter) -> None:
    """403 on each route of a router behind the key that checks a write or admin scope;
    called before the document is first built."""
    for route in guarded.routes:
        if isinstance(route, APIRoute) and _calls(route.dependant) & set(REFUSING):
            route.responses.update(errors(403))
