"""Chroma as the vector store: embedded `PersistentClient` in the data directory, or a Chroma
server through `HttpClient` when ZHIKU_CHROMA_URL names one (`chroma run`, the chromadb/chroma
image, Chroma distributed), which any number of API replicas and workers share."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import numpy as np

from core.errors import BackendUnavailable, ConfigError, EmbeddingModelMismatch
from core.settings import Settings
from core.stores.protocol import VectorHit, VectorMeta

T = TypeVar("T")

# Chroma caps one add at its max batch size (about 5k); smaller batches also bound memory.
_BATCH = 1000


# HNSW's candidate list while searching. At Chroma's default (100) a process that loaded the
# index and replayed its log in another order missed the best chunks of a question now and
# then: the same question got another answer after a restart (chroma-core/chroma#3638; 2 of 12
# processes over 3,000 vectors, none of 13 at 200).
EF_SEARCH = 200


def _widen_search(collection: Any) -> None:
    """Collections made before EF_SEARCH was set search with Chroma's default until widened."""
    hnsw = (collection.configuration_json or {}).get("hnsw") or {}
    if int(hnsw.get("ef_search") or 0) < EF_SEARCH:
        collection.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})


class ChromaVectorStore:
    def __init__(self, settings: Settings) -> None:
        # chromadb loads in 0.4 s: imported once the store opens, not when ownership asks
        # single_process.
        from chromadb.errors import NotFoundError

        self._not_found: type[Exception] = NotFoundError
        self._embedded = self.single_process(settings)
        self._client = _embedded_client(settings) if self._embedded else _http_client(settings)
        self._collections: dict[str, Any] = {}

    @staticmethod
    def single_process(settings: Settings) -> bool:
        """Two processes on one embedded folder hang or return mismatched results
        (chroma-core/chroma #7040, #3792); a server is shared."""
        return settings.chroma_url is None

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
                        configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}},
                        embedding_function=None,
                    )
            except self._not_found:
                return None
            except Exception as exc:  # chromadb raises bare Exceptions of many kinds
                raise BackendUnavailable(f"Chroma failed: {exc}") from exc
            _widen_search(cached)
            self._collections[collection_id] = cached
        recorded = (cached.metadata or {}).get("embedding_model")
        if embedding_model is not None and recorded not in (None, embedding_model):
            raise EmbeddingModelMismatch(
                "vectors_model_mismatch", recorded=recorded, model=embedding_model
            )
        return cached

    def upsert(
        self,
        collection_id: str,
        ids: Sequence[str],
        vectors: np.ndarray,
        metas: Sequence[VectorMeta],
    ) -> None:
        def store(collection: Any) -> bool:
            for start in range(0, len(ids), _BATCH):
                end = start + _BATCH
                collection.upsert(
                    ids=list(ids[start:end]),
                    embeddings=np.asarray(vectors[start:end], dtype=np.float32),
                    metadatas=[_metadata(m) for m in metas[start:end]],
                )
            return True

        try:
            stored = self._on_collection(collection_id, store, False)
        except Exception as exc:
            raise BackendUnavailable(f"Chroma failed to store vectors: {exc}") from exc
        if not stored:
            raise BackendUnavailable(f"vector collection {collection_id} is missing")

    def _on_collection(self, collection_id: str, work: Callable[[Any], T], missing: T) -> T:
        """Run work on the collection, or give `missing` when it does not exist. Another
        process (an API replica sharing the server) may have dropped a collection this one
        still holds, so a vanished collection is looked up once more before giving up."""
        for _ in range(2):
            collection = self._collection(collection_id)
            if collection is None:
                return missing
            try:
                return work(collection)
            except self._not_found:
                self._collections.pop(collection_id, None)
        return missing

    def delete_document(self, collection_id: str, document_id: str) -> None:
        self._on_collection(
            collection_id, lambda c: c.delete(where={"document_id": document_id}), None
        )

    def delete_ids(self, collection_id: str, ids: Sequence[str]) -> None:
        def delete(collection: Any) -> None:
            for start in range(0, len(ids), _BATCH):
                collection.delete(ids=list(ids[start : start + _BATCH]))

        if ids:
            self._on_collection(collection_id, delete, None)

    def query(
        self,
        collection_id: str,
        vector: np.ndarray,
        limit: int,
        document_ids: Sequence[str] | None = None,
    ) -> list[VectorHit]:
        where: dict[str, Any] | None = None
        if document_ids is not None:
            if not document_ids:
                return []
            where = {"document_id": {"$in": list(document_ids)}}

        def nearest(collection: Any) -> list[VectorHit]:
            # No count() first: Chroma counts by scanning the collection (~0.1 s at 10⁶
            # vectors), and a query asking for more than it holds gets all it holds. No
            # metadata either: reading it doubled an embedded query's time.
            result = collection.query(
                query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
                n_results=limit,
                where=where,
                include=["distances"],
            )
            return [
                VectorHit(id=i, similarity=1.0 - float(d))
                for i, d in zip(result["ids"][0], result["distances"][0], strict=True)
            ]

        if limit <= 0:
            return []
        return self._on_collection(collection_id, nearest, [])

    def ids(self, collection_id: str) -> set[str]:
        return self._on_collection(collection_id, lambda c: set(c.get(include=[])["ids"]), set())

    def drop_collection(self, collection_id: str) -> None:
        self._collections.pop(collection_id, None)
        with contextlib.suppress(self._not_found):
            self._client.delete_collection(self._name(collection_id))

    def ping(self) -> None:
        try:
            self._client.heartbeat()
        except Exception as exc:  # chromadb raises bare Exceptions of many kinds
            raise BackendUnavailable(f"Chroma does not answer: {exc}") from exc

    def close(self) -> None:
        self._collections.clear()
        # Clients of one server share one connection pool in the process, and chromadb never
        # closes a pool whose last client closed: keeping the client open reuses it instead.
        if self._embedded:
            self._client.close()


def _embedded_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(settings.chroma_dir),
        settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
    )


def _http_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    url = urlsplit(settings.chroma_url or "")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(
            f"ZHIKU_CHROMA_URL must look like http://host:8000, not {settings.chroma_url!r}"
        )
    ssl = url.scheme == "https"
    try:
        # The client checks the server's tenant and database at once, so a wrong address
        # fails here, at start-up, and not at the first upload.
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if ssl else 8000),
            ssl=ssl,
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )
    except Exception as exc:  # chromadb raises bare Exceptions of many kinds
        raise BackendUnavailable(
            f"cannot reach the Chroma server at {settings.chroma_url}: {exc}"
        ) from exc


def _metadata(meta: VectorMeta) -> dict[str, str | int]:
    found: dict[str, str | int] = {"document_id": meta.document_id, "seq": meta.seq}
    if meta.page is not None:
        found["page"] = meta.page
    return found
