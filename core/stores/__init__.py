"""Vector stores keyed by setting value."""

from __future__ import annotations

from core.registry import Registry
from core.settings import Settings
from core.stores.protocol import VectorStore

VECTOR_STORES = Registry[VectorStore](
    "vector store",
    {
        "chroma": "core.stores.chroma:ChromaVectorStore",
        "chroma-http": "core.stores.chroma:ChromaHttpVectorStore",
    },
)


def vector_store_key(settings: Settings) -> str:
    """Embedded Chroma in the data directory unless ZHIKU_CHROMA_URL names a server."""
    return "chroma-http" if settings.chroma_url else "chroma"


def open_vector_store(settings: Settings) -> VectorStore:
    return VECTOR_STORES.create(vector_store_key(settings), settings)
