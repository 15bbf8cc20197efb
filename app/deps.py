"""Every dependency that routes take, as `Annotated` aliases: the parts the lifespan built and
left on the app's state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from core.answer.service import AnswerService
from core.catalog import Catalog, Conversations
from core.catalog.records import Collection
from core.resources import Resources
from core.settings import Settings
from ingest.lifecycle import WorkerThread
from ingest.operations import Operations


def _state(name: str) -> Callable[[Request], Any]:
    """What the lifespan put on the app's state under `name`; each alias below says its type."""

    def read(request: Request) -> Any:
        return getattr(request.app.state, name)

    return read


def _catalog(request: Request) -> Catalog:
    resources: Resources = request.app.state.resources
    return resources.catalog


SettingsDep = Annotated[Settings, Depends(_state("settings"))]
ResourcesDep = Annotated[Resources, Depends(_state("resources"))]
CatalogDep = Annotated[Catalog, Depends(_catalog)]
OperationsDep = Annotated[Operations, Depends(_state("operations"))]
# None where workers run in processes of their own.
WorkerDep = Annotated[WorkerThread | None, Depends(_state("worker"))]
AnswersDep = Annotated[AnswerService, Depends(_state("answers"))]
ConversationsDep = Annotated[Conversations, Depends(_state("conversations"))]


def _collection(name: str, operations: OperationsDep) -> Collection:
    return operations.collection(name)


CollectionDep = Annotated[Collection, Depends(_collection)]
