"""Every dependency that routes take, as `Annotated` aliases: the parts the lifespan built and
left on the app's state, the caller's scopes, and the collections and jobs those scopes let it
reach."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from app.auth import check_admin, check_write, principal
from app.evaluation_runs import EvaluationRuns
from app.keyring import KeyRing
from app.schemas import CollectionCreate
from core.answer.service import AnswerService
from core.catalog import Catalog, Conversations
from core.catalog.records import Collection, Job
from core.errors import collection_not_found, job_not_found
from core.resources import Resources
from core.scopes import Scopes
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
KeyRingDep = Annotated[KeyRing, Depends(_state("keys"))]
EvaluationRunsDep = Annotated[EvaluationRuns, Depends(_state("evaluations"))]


# The caller's scopes; every /api and /v1 route takes it, directly or through the aliases below.
PrincipalDep = Annotated[Scopes, Depends(principal)]


def _admin(scopes: PrincipalDep) -> Scopes:
    check_admin(scopes)
    return scopes


AdminDep = Annotated[Scopes, Depends(_admin)]


def _collection(name: str, operations: OperationsDep, scopes: PrincipalDep) -> Collection:
    # Unreadable answers as absent: a key cannot learn which other collections exist.
    if not scopes.can_read(name):
        raise collection_not_found(name)
    return operations.collection(name)


# A collection of the path that the caller may read (else 404).
CollectionDep = Annotated[Collection, Depends(_collection)]


def _writable(collection: CollectionDep, scopes: PrincipalDep) -> Collection:
    check_write(scopes, collection.name)
    return collection


# A collection the caller may change: 404 without read access, 403 with read alone.
WritableCollectionDep = Annotated[Collection, Depends(_writable)]


def _new_collection(body: CollectionCreate, scopes: PrincipalDep) -> CollectionCreate:
    check_write(scopes, body.name)
    return body


# A collection to create, under a name the caller may write (else 403).
NewCollectionDep = Annotated[CollectionCreate, Depends(_new_collection)]


def _job_and_collection(job_id: str, catalog: CatalogDep, scopes: PrincipalDep) -> tuple[Job, str]:
    job = catalog.get_job(job_id)
    if scopes.admin:
        return job, ""
    name = catalog.collection_by_id(job.collection_id).name
    if not scopes.can_read(name):
        raise job_not_found(job_id)
    return job, name


def _job(found: Annotated[tuple[Job, str], Depends(_job_and_collection)]) -> Job:
    return found[0]


def _writable_job(
    found: Annotated[tuple[Job, str], Depends(_job_and_collection)], scopes: PrincipalDep
) -> Job:
    job, collection = found
    if not scopes.admin:
        check_write(scopes, collection)
    return job


# A job of the path in a collection the caller may read (else 404), or change (else 403).
JobDep = Annotated[Job, Depends(_job)]
WritableJobDep = Annotated[Job, Depends(_writable_job)]

# The dependencies that answer 403: the OpenAPI document lists it on the routes that use one.
REFUSING = (_admin, _writable, _new_collection, _writable_job)
