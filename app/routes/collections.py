"""Collections (knowledge bases)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import CollectionDep, EngineDep
from app.schemas import CollectionCreate, CollectionPublic

router = APIRouter(prefix="/api/collections", tags=["collections"])


@router.get("")
def list_collections(engine: EngineDep) -> list[CollectionPublic]:
    return [CollectionPublic.model_validate(c) for c in engine.catalog.list_collections()]


@router.post("", status_code=201)
def create_collection(body: CollectionCreate, engine: EngineDep) -> CollectionPublic:
    s = engine.settings
    created = engine.catalog.create_collection(
        body.name,
        s.embedding_model,
        body.chunk_tokens or s.chunk_tokens,
        body.chunk_overlap_tokens
        if body.chunk_overlap_tokens is not None
        else s.chunk_overlap_tokens,
    )
    return CollectionPublic.model_validate(created)


@router.get("/{name}")
def get_collection(collection: CollectionDep) -> CollectionPublic:
    return CollectionPublic.model_validate(collection)


@router.delete("/{name}", status_code=204)
def delete_collection(collection: CollectionDep, engine: EngineDep) -> Response:
    engine.delete_collection(collection.name)
    return Response(status_code=204)
