"""Collections (knowledge bases)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import (
    CatalogDep,
    CollectionDep,
    NewCollectionDep,
    OperationsDep,
    PrincipalDep,
    WritableCollectionDep,
)
from app.openapi_errors import BODY, IN_COLLECTION, errors
from app.schemas import CollectionPublic

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
