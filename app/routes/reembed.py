"""Changing a collection's embedding model without a wipe: start a re-embedding, follow its
progress, cancel it (ingest/reembed.py does the work in the background)."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import CollectionDep, OperationsDep, WritableCollectionDep
from app.openapi_errors import BODY, IN_COLLECTION, errors
from app.schemas import ReembedCreate, ReembedPublic
from core.catalog.records import Collection, Reembed

router = APIRouter(prefix="/api/collections", tags=["collections"])


def _public(collection: Collection, reembed: Reembed | None, state: str) -> ReembedPublic:
    return ReembedPublic(
        collection=collection.name,
        embedding_model=collection.embedding_model,
        state=state if reembed is not None else "idle",
        target_model=reembed.model if reembed is not None else None,
        chunks_done=reembed.chunks_done if reembed is not None else 0,
        chunks_total=reembed.chunks_total if reembed is not None else 0,
    )


@router.post("/{name}/reembed", status_code=202, responses=errors(*BODY, *IN_COLLECTION))
def start_reembed(
    body: ReembedCreate, collection: WritableCollectionDep, operations: OperationsDep
) -> ReembedPublic:
    """Embed every chunk again with `model` into a new vector space; queries keep the current
    model until every chunk has its new vector, then switch at once. 409 when one is under
    way, when the collection already uses the model, or when the model cannot be opened."""
    return _public(collection, operations.start_reembed(collection, body.model), "running")


@router.get("/{name}/reembed", responses=errors(*IN_COLLECTION))
def reembed_status(collection: CollectionDep, operations: OperationsDep) -> ReembedPublic:
    return _public(collection, operations.reembed_status(collection), "running")


@router.delete("/{name}/reembed", responses=errors(*IN_COLLECTION))
def cancel_reembed(collection: WritableCollectionDep, operations: OperationsDep) -> ReembedPublic:
    """The new vector space is dropped; the collection keeps its model. 404 when none is
    under way."""
    return _public(collection, operations.cancel_reembed(collection), "cancelled")
