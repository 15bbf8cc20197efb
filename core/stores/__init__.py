"""Vector stores keyed by the value of ZHIKU_VECTOR_STORE."""

from __future__ import annotations

import hashlib

from core.registry import Registry
from core.settings import Settings
from core.stores.protocol import VectorStore

VECTOR_STORES = Registry[VectorStore](
    "vector store",
    {
        "chroma": "core.stores.chroma:ChromaVectorStore",
        "milvus": "core.stores.milvus:MilvusVectorStore",
    },
    choose=lambda settings: settings.vector_store,
)


def open_vector_store(settings: Settings) -> VectorStore:
    return VECTOR_STORES.open(settings)


def space_for(collection_id: str, model: str) -> str:
    """The vector space a re-embedding fills for a collection: named for the model, so that it
    never meets the space in use (named by the collection's id alone), in letters, digits and
    underscores as both Chroma and Milvus allow."""
    return f"{collection_id}_{hashlib.sha1(model.encode()).hexdigest()[:10]}"
