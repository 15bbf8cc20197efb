"""Vector stores keyed by the value of ZHIKU_VECTOR_STORE."""

from __future__ import annotations

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
