"""Collections (knowledge bases)."""

from __future__ import annotations

from typing import get_args

from fastapi import APIRouter, Response

from app.auth import check_write
from app.deps import (
    AnswersDep,
    CatalogDep,
    CollectionDep,
    NewCollectionDep,
    OperationsDep,
    PrincipalDep,
    WritableCollectionDep,
)
from app.openapi_errors import BODY, IN_COLLECTION, errors
from app.questions import top_k_for
from app.schemas import (
    DEFAULT_TOP_K,
    AnswerSettings,
    CollectionPublic,
    CollectionSettingsPublic,
    CollectionUpdate,
)
from core.answer.abstain import threshold
from core.retrieval.language import Language

router = APIRouter(prefix="/api/collections", tags=["collections"])


@router.get("")
def list_collections(catalog: CatalogDep, scopes: PrincipalDep) -> list[CollectionPublic]:
    """The collections this key may read."""
    readable = [c for c in catalog.list_collections() if scopes.can_read(c.name)]
    return [CollectionPublic.model_validate(c) for c in readable]


@router.post("", status_code=201, responses=errors(*BODY, 409))
def create_collection(body: NewCollectionDep, operations: OperationsDep) -> CollectionPublic:
    created = operations.create_collection(body.name, body.chunk_tokens, body.chunk_overlap_tokens)
    return CollectionPublic.model_validate(created)


@router.get("/{name}", responses=errors(*IN_COLLECTION))
def get_collection(collection: CollectionDep) -> CollectionPublic:
    return CollectionPublic.model_validate(collection)


@router.delete("/{name}", status_code=204, responses=errors(*IN_COLLECTION))
def delete_collection(collection: WritableCollectionDep, operations: OperationsDep) -> Response:
    operations.delete_collection(collection.name)
    return Response(status_code=204)


@router.patch("/{name}", responses=errors(*IN_COLLECTION, *BODY, 409))
def update_collection(
    body: CollectionUpdate,
    collection: WritableCollectionDep,
    catalog: CatalogDep,
    scopes: PrincipalDep,
) -> CollectionPublic:
    """A new `name` (409 when taken; a key must be allowed to change both names), or new
    `settings` (they replace the stored ones; a null field follows the service)."""
    updated = collection
    # The rename first: refused, it leaves the settings as they were too.
    if body.name is not None:
        check_write(scopes, body.name)
        updated = catalog.rename_collection(updated.name, body.name)
    if body.settings is not None:
        updated = catalog.set_collection_settings(
            updated.name, body.settings.model_dump(exclude_none=True)
        )
    return CollectionPublic.model_validate(updated)


@router.get("/{name}/settings", responses=errors(*IN_COLLECTION))
def get_collection_settings(
    collection: CollectionDep, answers: AnswersDep
) -> CollectionSettingsPublic:
    """What its answers use now: its own settings where set, the service's otherwise."""
    stored = CollectionPublic.model_validate(collection).settings
    return CollectionSettingsPublic(
        top_k=top_k_for(None, collection),
        abstain_threshold=stored.abstain_threshold,
        stored=stored,
        service=AnswerSettings(
            backend=answers.llm.backend,
            default_top_k=DEFAULT_TOP_K,
            abstention_thresholds={lang: threshold(lang) for lang in get_args(Language)},
        ),
    )
