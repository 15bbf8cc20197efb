"""Milvus as the vector store, through pymilvus's `MilvusClient`: a Milvus server or cluster
(Zilliz Cloud too) at ZHIKU_MILVUS_URI, or milvus-lite in a file of the data directory, which
pymilvus serves in-process over the same gRPC API."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import numpy as np

from core.errors import BackendUnavailable, ConfigError, EmbeddingModelMismatch
from core.settings import Settings
from core.stores.protocol import VectorHit, VectorMeta

T = TypeVar("T")

# Milvus needs a vector's dimension to create a collection, and ensure_collection is given none:
# each collection's embedding model is a row of this collection, and its vectors' collection is
# created by the first upsert, with the dimension of those vectors.
_REGISTRY = "zhiku__collections"
_BATCH = 1000
_MAX_TOP_K = 16384  # Milvus refuses a search for more
_COLLECTION_NOT_FOUND, _COLLECTION_NOT_LOADED = 100, 101
_SERVER_SCHEMES = ("http", "https", "tcp", "unix")

# Several stores of one process on one milvus-lite file share the server pymilvus runs for it;
# the last one closed stops it, which frees the file for another process.
_local_lock = threading.Lock()
_local_users: Counter[str] = Counter()


class MilvusVectorStore:
    def __init__(self, settings: Settings) -> None:
        self._uri = settings.milvus_address
        local = self.single_process(settings)
        try:
            import pymilvus
        except ImportError as exc:
            raise ConfigError(
                "ZHIKU_VECTOR_STORE=milvus needs pymilvus and milvus-lite:"
                " pip install 'zhiku[milvus]'"
            ) from exc
        _adopt_pymilvus_logs()
        self._pymilvus = pymilvus
        self._error: type[Exception] = pymilvus.MilvusException
        self._loaded: set[str] = set()
        if local:
            if not self._uri.endswith(".db"):
                raise ConfigError(
                    "ZHIKU_MILVUS_URI must be a server (http://host:19530) or a milvus-lite"
                    f" file ending in .db, not {self._uri!r}"
                )
            Path(self._uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._client = pymilvus.MilvusClient(
                uri=self._uri, token=settings.milvus_token.get_secret_value()
            )
        except self._error as exc:
            raise BackendUnavailable(f"cannot reach Milvus at {self._uri}: {exc}") from exc
        # The milvus-lite file this store holds open, until closed.
        self._holds = os.path.abspath(self._uri) if local else None
        if self._holds:
            with _local_lock:
                _local_users[self._holds] += 1
        try:
            self._create(_REGISTRY, self._registry_schema(), "unused", "L2")
            self._call(lambda: self._client.load_collection(_REGISTRY))
        except BackendUnavailable:
            self.close()
            raise

    @staticmethod
    def single_process(settings: Settings) -> bool:
        """A milvus-lite file is locked by the process that opens it; a server is shared."""
        return urlsplit(settings.milvus_address).scheme not in _SERVER_SCHEMES

    @staticmethod
    def _name(collection_id: str) -> str:
        return f"zhiku_{collection_id}"

    def _call(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except self._error as exc:
            raise BackendUnavailable(f"Milvus failed: {exc}") from exc

    def _create(self, name: str, schema: Any, vector_field: str, metric: str) -> None:
        """Create a collection unless it exists (another process may create it meanwhile)."""
        if self._call(lambda: self._client.has_collection(name)):
            return
        index = self._client.prepare_index_params()
        index.add_index(vector_field, index_type="AUTOINDEX", metric_type=metric)
        try:
            # Strong: a search sees every write made before it, as with Chroma.
            self._client.create_collection(
                name, schema=schema, index_params=index, consistency_level="Strong"
            )
        except self._error as exc:
            if not self._call(lambda: self._client.has_collection(name)):
                raise BackendUnavailable(f"Milvus failed to create {name}: {exc}") from exc

    def _registry_schema(self) -> Any:
        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        types = self._pymilvus.DataType
        schema.add_field("collection_id", types.VARCHAR, max_length=256, is_primary=True)
        # Milvus refuses a collection without a vector field; this one is never searched.
        schema.add_field("unused", types.FLOAT_VECTOR, dim=2)
        schema.add_field("embedding_model", types.VARCHAR, max_length=1024)
        return schema

    def _vectors_schema(self, dimension: int) -> Any:
        types = self._pymilvus.DataType
        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", types.VARCHAR, max_length=256, is_primary=True)
        schema.add_field("vector", types.FLOAT_VECTOR, dim=dimension)
        schema.add_field("document_id", types.VARCHAR, max_length=256)
        schema.add_field("page", types.INT64, nullable=True)
        schema.add_field("seq", types.INT64)
        return schema

    def _recorded_model(self, collection_id: str) -> str | None:
        rows = self._call(
            lambda: self._client.get(
                _REGISTRY, ids=[collection_id], output_fields=["embedding_model"]
            )
        )
        return str(rows[0]["embedding_model"]) if rows else None

    def ensure_collection(self, collection_id: str, embedding_model: str) -> None:
        recorded = self._recorded_model(collection_id)
        if recorded is None:
            row = {
                "collection_id": collection_id,
                "unused": [0.0, 0.0],
                "embedding_model": embedding_model,
            }
            self._call(lambda: self._client.upsert(_REGISTRY, [row]))
        elif recorded != embedding_model:
            raise EmbeddingModelMismatch(
                "vectors_model_mismatch", recorded=recorded, model=embedding_model
            )

    def _on_collection(self, collection_id: str, work: Callable[[str], T], missing: T) -> T:
        """Run work on the collection's vectors, or give `missing` when there are none yet.
        Another process (an API replica sharing the server) may have dropped a collection this
        one has loaded, so a vanished collection is looked up once more before giving up."""
        name = self._name(collection_id)
        for _ in range(2):
            try:
                if name not in self._loaded:
                    if not self._client.has_collection(name):
                        return missing
                    # milvus-lite forgets what was loaded when the file is opened again.
                    self._client.load_collection(name)
                    self._loaded.add(name)
                return work(name)
            except self._error as exc:
                if getattr(exc, "code", None) not in (
                    _COLLECTION_NOT_FOUND,
                    _COLLECTION_NOT_LOADED,
                ):
                    raise BackendUnavailable(f"Milvus failed: {exc}") from exc
                self._loaded.discard(name)
        return missing

    def upsert(
        self,
        collection_id: str,
        ids: Sequence[str],
        vectors: np.ndarray,
        metas: Sequence[VectorMeta],
    ) -> None:
        matrix = np.asarray(vectors, dtype=np.float32)
        rows = [
            {"id": i, "vector": v, "document_id": m.document_id, "page": m.page, "seq": m.seq}
            for i, v, m in zip(ids, matrix, metas, strict=True)
        ]

        def store(name: str) -> bool:
            for start in range(0, len(rows), _BATCH):
                self._client.upsert(name, rows[start : start + _BATCH])
            if self._holds:
                # milvus-lite searches rows it has not flushed one by one (0.4 s a query at 10⁴
                # vectors), flushed ones through its index (10 ms). A server flushes by itself
                # and throttles clients that ask it to.
                self._client.flush(name)
            return True

        if self._on_collection(collection_id, store, False):
            return
        if self._recorded_model(collection_id) is None:
            raise BackendUnavailable(f"vector collection {collection_id} is missing")
        schema = self._vectors_schema(matrix.shape[1])
        self._create(self._name(collection_id), schema, "vector", "COSINE")
        if not self._on_collection(collection_id, store, False):
            raise BackendUnavailable(f"vector collection {collection_id} is missing")

    def delete_document(self, collection_id: str, document_id: str) -> None:
        where = f"document_id == {_literal(document_id)}"
        self._on_collection(collection_id, lambda n: self._client.delete(n, filter=where), None)

    def delete_ids(self, collection_id: str, ids: Sequence[str]) -> None:
        def delete(name: str) -> None:
            for start in range(0, len(ids), _BATCH):
                self._client.delete(name, ids=list(ids[start : start + _BATCH]))

        if ids:
            self._on_collection(collection_id, delete, None)

    def query(
        self,
        collection_id: str,
        vector: np.ndarray,
        limit: int,
        document_ids: Sequence[str] | None = None,
    ) -> list[VectorHit]:
        if limit <= 0 or (document_ids is not None and not document_ids):
            return []
        # Milvus filters before it searches, so the limit counts only vectors of these documents.
        where = "" if document_ids is None else f"document_id in {_literal(list(document_ids))}"

        def nearest(name: str) -> list[VectorHit]:
            found = self._client.search(
                name,
                data=[np.asarray(vector, dtype=np.float32)],
                limit=min(limit, _MAX_TOP_K),
                filter=where,
                output_fields=["id"],
                search_params={"metric_type": "COSINE"},
            )
            # With COSINE, Milvus's "distance" is the similarity, largest first.
            return [VectorHit(id=str(h["id"]), similarity=float(h["distance"])) for h in found[0]]

        return self._on_collection(collection_id, nearest, [])

    def ids(self, collection_id: str) -> set[str]:
        def every(name: str) -> set[str]:
            pages = self._client.query_iterator(name, batch_size=4096, output_fields=["id"])
            found: set[str] = set()
            try:
                while page := pages.next():
                    found.update(str(row["id"]) for row in page)
            finally:
                pages.close()
            return found

        return self._on_collection(collection_id, every, set())

    def drop_collection(self, collection_id: str) -> None:
        name = self._name(collection_id)
        self._loaded.discard(name)
        # The model's row first: a process storing meanwhile then finds the collection gone
        # instead of making its vectors' collection again.
        self._call(lambda: self._client.delete(_REGISTRY, ids=[collection_id]))
        try:
            self._client.drop_collection(name)
        except self._error as exc:
            if getattr(exc, "code", None) != _COLLECTION_NOT_FOUND:
                raise BackendUnavailable(f"Milvus failed to drop {name}: {exc}") from exc

    def ping(self) -> None:
        try:
            self._client.get_server_version()
        except self._error as exc:
            raise BackendUnavailable(f"Milvus does not answer at {self._uri}: {exc}") from exc

    def close(self) -> None:
        self._loaded.clear()
        self._client.close()
        path, self._holds = self._holds, None
        if path is None:
            return
        with _local_lock:
            _local_users[path] -= 1
            last = _local_users[path] == 0
            if last:
                del _local_users[path]
        if last:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(path)


def _literal(value: str | list[str]) -> str:
    """A string or list of strings in Milvus's filter syntax, whose string literals take
    JSON's escapes."""
    return json.dumps(value, ensure_ascii=False)


def _adopt_pymilvus_logs() -> None:
    """pymilvus gives its loggers a handler of their own when imported; handing them back to
    the root logger keeps the service's log format (text or JSON) for them too."""
    for name in ("pymilvus", "pymilvus.milvus_client", "pymilvus.bulk_writer"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
