"""`zhiku ask` and `zhiku eval` put questions through the running service's API when one owns
the data directory (or a server-backed deployment is configured with a URL), else answer them
in this process. Either way the answer has the shape of the API's QueryResponse."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from app.evaluation_asking import service_ask_turn
from app.evaluation_runs import configuration
from app.questions import top_k_for
from app.schemas import QueryResponse
from cli.adding import check_response
from cli.service_client import service_client
from core.answer.assembly import Answering
from core.errors import InvalidInput
from core.evaluation.report import ConfigValue
from core.evaluation.runner import AskTurn
from core.ownership import own_data_dir, read_owner
from core.resources import Resources
from core.settings import Settings
from ingest.operations import Operations

T = TypeVar("T")


class Asker(Protocol):
    def ask(self, question: str, top_k: int | None) -> dict[str, Any]:
        """The QueryResponse of one question, as JSON."""
        ...

    def top_k(self, requested: int | None) -> int:
        """The passages an answer reads: `requested`, else the collection's setting."""
        ...

    def ask_turn(self, top_k: int, settings: Settings | None = None) -> AskTurn:
        """Asks golden-set questions; `settings`: answer under these instead."""
        ...

    def run(self, work: Awaitable[T]) -> T: ...

    def describe(self, settings: Settings | None = None) -> dict[str, ConfigValue]:
        """The configuration answers come from, for an evaluation report."""
        ...

    def update_settings(self, changes: dict[str, Any]) -> None:
        """Stores these in the collection's settings, beside those it holds."""
        ...


class HttpAsker:
    def __init__(self, base_url: str, collection: str, api_key: str | None) -> None:
        self._http = service_client(base_url, api_key)
        self._url = base_url
        self._collection = collection
        self._path = f"/api/collections/{collection}"

    def ask(self, question: str, top_k: int | None) -> dict[str, Any]:
        return self._post("/query", {"question": question, "top_k": top_k})

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post(self._path + path, json=body)
        check_response(response)
        answer: dict[str, Any] = response.json()
        return answer

    def _get(self, path: str) -> dict[str, Any]:
        response = self._http.get(self._path + path)
        check_response(response)
        found: dict[str, Any] = response.json()
        return found

    def top_k(self, requested: int | None) -> int:
        return requested if requested is not None else int(self._get("/settings")["top_k"])

    def ask_turn(self, top_k: int, settings: Settings | None = None) -> AskTurn:
        if settings is not None:
            raise InvalidInput("evaluation_compare_needs_local", url=self._url)

        async def ask(question: str, earlier: Sequence[tuple[str, str]]) -> dict[str, Any]:
            if not earlier:
                return self.ask(question, top_k)
            messages = [
                {"role": role, "content": content}
                for asked, answered in earlier
                for role, content in (("user", asked), ("assistant", answered))
            ]
            messages.append({"role": "user", "content": question})
            return self._post("/chat", {"messages": messages, "top_k": top_k})

        return ask

    def run(self, work: Awaitable[T]) -> T:
        async def awaited() -> T:
            return await work

        return asyncio.run(awaited())

    def describe(self, settings: Settings | None = None) -> dict[str, ConfigValue]:
        stored = self._get("")["settings"]
        return {
            "collection": self._collection,
            "service": self._url,
            "abstain_threshold": stored.get("abstain_threshold"),
        }

    def update_settings(self, changes: dict[str, Any]) -> None:
        stored = self._get("")["settings"]
        response = self._http.patch(self._path, json={"settings": {**stored, **changes}})
        check_response(response)

    def close(self) -> None:
        self._http.close()


class LocalAsker:
    def __init__(self, settings: Settings, collection: str) -> None:
        self._settings = settings
        self._resources = Resources(settings)
        self._operations = Operations(self._resources)
        self._collection = self._operations.collection(collection)
        self._answering = [Answering(settings, self._resources)]
        # One loop for every question: an HTTP backend's connections belong to the loop.
        self._loop = asyncio.new_event_loop()

    def ask(self, question: str, top_k: int | None) -> dict[str, Any]:
        service = self._answering[0].service
        prepared = self._loop.run_until_complete(
            service.prepare_async(self._collection, question, self.top_k(top_k))
        )
        answer = self._loop.run_until_complete(service.answer(prepared))
        return QueryResponse.of(answer).model_dump()

    def top_k(self, requested: int | None) -> int:
        return top_k_for(requested, self._collection)

    def ask_turn(self, top_k: int, settings: Settings | None = None) -> AskTurn:
        answering = self._answering[0]
        if settings is not None:
            # Over the same stores: only what answering reads may differ.
            answering = Answering(settings, self._resources)
            self._answering.append(answering)
        return service_ask_turn(answering.service, self._collection, top_k)

    def run(self, work: Awaitable[T]) -> T:
        return self._loop.run_until_complete(work)

    def describe(self, settings: Settings | None = None) -> dict[str, ConfigValue]:
        return configuration(settings or self._settings, self._collection)

    def update_settings(self, changes: dict[str, Any]) -> None:
        self._collection = self._resources.catalog.set_collection_settings(
            self._collection.name, {**self._collection.settings, **changes}
        )

    def close(self) -> None:
        for answering in self._answering:
            self._loop.run_until_complete(answering.aclose())
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
