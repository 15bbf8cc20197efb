"""The two retrievers over a collection, each seeing whole documents only: lexical over
searchable and ready documents, dense over ready ones."""

from __future__ import annotations

from collections.abc import Sequence

from core.catalog import Catalog
from core.catalog.records import Collection, ScoredChunk
from core.embedder import Embedder
from core.errors import EmbeddingModelMismatch
from core.lexical_tokens import lexical_tokens
from core.stores.protocol import VectorStore

# Dense hits of documents that are not ready are dropped after the query, so ask for more.
_OVERFETCH = 2


class Searcher:
    def __init__(self, catalog: Catalog, store: VectorStore, embedder: Embedder) -> None:
        self._catalog = catalog
        self._store = store
        self._embedder = embedder

    def lexical(
        self,
        collection: Collection,
        query: str,
        limit: int,
        document_ids: Sequence[str] | None = None,
    ) -> list[ScoredChunk]:
        return self._catalog.lexical_search(
            collection.id, lexical_tokens(query), limit, document_ids
        )

    def dense(
        self,
        collection: Collection,
        query: str,
        limit: int,
        document_ids: Sequence[str] | None = None,
    ) -> list[ScoredChunk]:
        """Raises EmbeddingModelMismatch when the collection was embedded with another model."""
        if collection.embedding_model != self._embedder.model_id:
            raise EmbeddingModelMismatch(
                f"collection {collection.name!r} was embedded with {collection.embedding_model!r};"
                f" this service embeds queries with {self._embedder.model_id!r}"
            )
        vector = self._embedder.embed([query])[0]
        wanted = set(document_ids) if document_ids is not None else None
        hits = self._store.query(collection.id, vector, limit * _OVERFETCH + 10)
        if wanted is not None:
            hits = [h for h in hits if h.document_id in wanted]
        chunks = self._catalog.ready_chunks(collection.id, [h.id for h in hits])
        return [ScoredChunk(chunks[h.id], h.similarity) for h in hits if h.id in chunks][:limit]
