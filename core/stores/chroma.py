"""Chroma as the vector store: embedded `PersistentClient` in the data directory."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from chromadb.errors import NotFoundError

from core.errors import BackendUnavailable, EmbeddingModelMismatch
from core.settings import Settings
from core.stores.protocol import VectorHit, VectorMeta

# Chroma caps one add at its max batch size (about 5k); smaller batches also bound memory.
_BATCH = 1000


class ChromaVectorStore:
    def __init__(self, settings: Settings) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(settings.chroma_dir),
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )
        self._collections: dict[str, Any] = {}

    @staticmethod
    def _name(collection_id: str) -> str:
        return f"zhiku_{collection_id}"

    def ensure_collection(self, collection_id: str, embedding_model: str) -> None:
        self._collection(collection_id, embedding_model)

    def _collection(self, collection_id: str, embedding_model: str | None = None) -> Any:
        cached = self._collections.get(collection_id)
        if cached is None:
            try:
                if embedding_model is None:
                    cached = self._client.get_collection(
                        self._name(collection_id), embedding_function=None
                    )
                else:
                    # No embedding function: Chroma's default would download a model at run time.
                    cached = self._client.get_or_create_collection(
                        self._name(collection_id),
                        metadata={"embedding_model": embedding_model},
                        configuration={"hnsw": {"space": "cosine"}},
                        embedding_function=None,
                    )
            except NotFoundError:
                return None
            except Exception as exc:  # chromadb raises bare Exceptions of many kinds
                raise BackendUnavailable(f"Chroma failed: {exc}") from exc
            self._collections[collection_id] = cached
        recorded = (cached.metadata or {}).get("embedding_model")
        if embedding_model is not None and recorded not in (None, embedding_model):
            raise EmbeddingModelMismatch(
                f"this collection's vectors were made with {recorded!r}, not {embedding_model!r};"
                " set ZHIKU_EMBEDDING_MODEL back or use another collection"
            )
        return cached

    def upsert(
        self,
        collection_id: str,
        ids: Sequence[str],
        vectors: np.ndarray,
        metas: Sequence[VectorMeta],
    ) -> None:
        collection = self._collection(collection_id)
        if collection is None:
            raise BackendUnavailable(f"vector collection {collection_id} is missing")
        for start in range(0, len(ids), _BATCH):
            end = start + _BATCH
            metadatas = [_metadata(m) for m in metas[start:end]]
            try:
                collection.upsert(
                    ids=list(ids[start:end]),
                    embeddings=np.asarray(vectors[start:end], dtype=np.float32),
                    metadatas=metadatas,
                )
            except Exception as exc:
                raise BackendUnavailable(f"Chroma failed to store vectors: {exc}") from exc

    def delete_document(self, collection_id: str, document_id: str) -> None:
        collection = self._collection(collection_id)
        if collection is not None:
            collection.delete(where={"document_id": document_id})

    def delete_ids(self, collection_id: str, ids: Sequence[str]) -> None:
        collection = self._collection(collection_id)
        if collection is not None and ids:
            for start in range(0, len(ids), _BATCH):
                collection.delete(ids=list(ids[start : start + _BATCH]))

    def query(self, collection_id: str, vector: np.ndarray, limit: int) -> list[VectorHit]:
        collection = self._collection(collection_id)
        if collection is None or limit <= 0:
            return []
        count = collection.count()
        if count == 0:
            return []
        result = collection.query(
            query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            n_results=min(limit, count),
            include=["distances", "metadatas"],
        )
        return [
            VectorHit(id=i, document_id=str(m["document_id"]), similarity=1.0 - float(d))
            for i, d, m in zip(
                result["ids"][0], result["distances"][0], result["metadatas"][0], strict=True
            )
        ]

    def ids(self, collection_id: str) -> set[str]:
        collection = self._collection(collection_id)
        if collection is None:
            return set()
        return set(collection.get(include=[])["ids"])

    def drop_collection(self, collection_id: str) -> None:
        self._collections.pop(collection_id, None)
        with contextlib.suppress(NotFoundError):
            self._client.delete_collection(self._name(collection_id))

    def close(self) -> None:
        self._collections.clear()


def _metadata(meta: VectorMeta) -> dict[str, str | int]:
    found: dict[str, str | int] = {"document_id": meta.document_id, "seq": meta.seq}
    if meta.page is not None:
        found["page"] = meta.page
    return found
