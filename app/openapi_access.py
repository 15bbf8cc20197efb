"""The access answers in the OpenAPI document: 401 on every route behind a key, and 403 on
exactly the routes that depend on a write or admin check (app/deps.py's REFUSING), found from
the routes' own dependencies so the document cannot drift from what they do."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.deps import REFUSING


def _example(code: str, message: str) -> dict[str, Any]:
    body = {"error": {"code": code, "message": message}}
    return {"application/json": {"example": body}}


UNAUTHORIZED = {
    "description": "No API key, or not one the service accepts (revoked, or unknown).",
    "content": _example("unauthorized", "this service needs an API key"),
}
FORBIDDEN = {
    "description": "The API key may read this collection but not change it, or is not admin.",
    "content": _example("forbidden", "this API key may not change collection 'kb'"),
}

NOT_FOUND = {
    "description": "No such API key.",
    "content": _example("not_found", "API key '3f2a9c1b7e04' does not exist"),
}


def _calls(dependant: Dependant) -> set[Any]:
    found = set()
    for dependency in dependant.dependencies:
        found.add(dependency.call)
        found |= _calls(dependency)
    return found


def document_access(guarded: APIRouter) -> None:
    """For a router included behind the key, before the document is first built: 401 on each
    of its routes, 403 on those that refuse."""
    for route in guarded.routes:
        if not isinstance(route, APIRoute):
            continue
        route.responses.setdefault(401, UNAUTHORIZED)
        if _calls(route.dependant) & set(REFUSING):
            route.responses.setdefault(403, FORBIDDEN)
