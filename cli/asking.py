"""`zhiku ask` and `zhiku eval` put questions through the running service's API when one owns
the data directory (or a server-backed deployment is configured with a URL), else answer them
in this process. Either way the answer has the shape of the API's QueryResponse."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from app.schemas import QueryResponse
from cli.adding import check_response
from cli.service_client import service_client
from core.answer.assembly import Answering
from core.ownership import own_data_dir, read_owner
from core.resources import Resources
from core.settings import Settings
from ingest.operations import Operations


class Asker(Protocol):
    def ask(self, question: str, top_k: int) -> dict[str, Any]:
        """The QueryResponse of one question, as JSON."""
        ...


class HttpAsker:
    def __init__(self, base_url: str, collection: str, api_key: str | None) -> None:
        self._http = service_client(base_url, api_key)
        self._path = f"/api/collections/{collection}/query"

    def ask(self, question: str, top_k: int) -> dict[str, Any]:
        response = self._http.post(self._path, json={"question": question, "top_k": top_k})
        check_response(response)
        answer: dict[str, Any] = response.json()
        return answer

    def close(self) -> None:
        self._http.close()


class LocalAsker:
    def __init__(self, settings: Settings, collection: str) -> None:
        self._resources = Resources(settings)
        self._collection = Operations(self._resources).collection(collection)
        self._answering = Answering(settings, self._resources)
        # One loop for every question: an HTTP backend's connections belong to the loop.
        self._loop = asyncio.new_event_loop()

    def ask(self, question: str, top_k: int) -> dict[str, Any]:
        service = self._answering.service
        prepared = self._loop.run_until_complete(
            service.prepare_async(self._collection, question, top_k)
        )
        answer = self._loop.run_until_complete(service.answer(prepared))
        return QueryResponse.of(answer).model_dump()

    def close(self) -> None:
        self._loop.run_until_complete(self._answering.aclose())
        self._loop.close()
        self._resources.close()


@contextmanager
def open_asker(settings: Settings, collection: str) -> Iterator[Asker]:
    owner = read_owner(settings.data_dir)
    if owner is not None and owner.url:
        http = HttpAsker(owner.url, collection, settings.client_api_key)
        try:
            yield http
        finally:
            http.close()
        return
    with own_data_dir(settings, role="ask"):
        local = LocalAsker(settings, collection)
        try:
            yield local
        finally:
            local.close()


def format_answer(answer: dict[str, Any]) -> str:
    """The answer, then one line per citation with where it points and whether it holds."""
    lines = [answer["answer"], ""]
    for c in answer["citations"]:
        where = c["filename"] + (f", page {c['page']}" if c["page"] is not None else "")
        mark = "" if c["verified"] else " (not verified)"
        lines.append(f"[{c['n']}] {where}{mark}: {c['quote']}")
    if answer["abstained"]:
        lines.append("(not in the documents)")
    return "\n".join(lines).rstrip()
