"""Every dependency that routes take, as `Annotated` aliases: the parts the lifespan built, read
from the app's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.answer.service import AnswerService
from core.catalog import Catalog, Conversations
from core.catalog.records import Collection
from core.resources import Resources
from core.settings import Settings
from ingest.lifecycle import WorkerThread
from ingest.operations import Operations


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def get_catalog(request: Request) -> Catalog:
    return get_resources(request).catalog


def get_operations(request: Request) -> Operations:
    operations: Operations = request.app.state.operations
    return operations


def get_worker(request: Request) -> WorkerThread | None:
    """The worker thread of this process; None where workers run elsewhere."""
    worker: WorkerThread | None = request.app.state.worker
    return worker


def get_answers(request: Request) -> AnswerService:
    service: AnswerService = request.app.state.answers
    return service


def get_conversations(request: Request) -> Conversations:
    conversations: Conversations = request.app.state.conversations
    return conversations


SettingsDep = Annotated[Settings, Depends(get_settings)]
ResourcesDep = Annotated[Resources, Depends(get_resources)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
OperationsDep = Annotated[Operations, Depends(get_operations)]
WorkerDep = Annotated[WorkerThread | None, Depends(get_worker)]
AnswersDep = Annotated[AnswerService, Depends(get_answers)]
ConversationsDep = Annotated[Conversations, Depends(get_conversations)]


def get_collection(name: str, operations: OperationsDep) -> Collection:
    return operations.collection(name)


CollectionDep = Annotated[Collection, Depends(get_collection)]
