"""The bundled chat page: `GET /` and its static files under `/static`, with security headers.
The page needs no key; it calls the same public API as any other client."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app.security import SecurityHeaders

WEB = Path(__file__).resolve().parent.parent / "web"

router = APIRouter(include_in_schema=False)

# Files keep their names across releases, so the browser revalidates each time (a cheap 304)
# instead of running a stale script against a newer API.
REVALIDATE = {"Cache-Control": "no-cache"}


@router.api_route("/", methods=["GET", "HEAD"])
def index() -> FileResponse:
    return FileResponse(WEB / "index.html", media_type="text/html", headers=REVALIDATE)


class RevalidatedStaticFiles(StaticFiles):
    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(REVALIDATE)
        return response


def install_web_page(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", RevalidatedStaticFiles(directory=WEB), name="static")
    app.add_middleware(SecurityHeaders)
