"""Vector stores keyed by setting value."""

from __future__ import annotations

from core.registry import Registry
from core.stores.protocol import VectorStore

VECTOR_STORES = Registry[VectorStore](
    "vector store", {"chroma": "core.stores.chroma:ChromaVectorStore"}
)
