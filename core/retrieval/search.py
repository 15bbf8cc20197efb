"""The two retrievers over a collection, each seeing whole documents only: lexical over
searchable and ready documents, dense over ready ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.catalog import Chunks
from core.catalog.records import Collection, ScoredChunk
from core.embedding import Embedder
from core.errors import EmbeddingModelMismatch
from core.lexical_tokens import lexical_tokens
from core.retrieval.language import detect_language
from core.retrieval.passage_rank import passage_ranges, rank_in_passages
from core.retrieval.question_means import centred
from core.stores.protocol import VectorStore

# Lexical hits whose passages are scored, at least.
_PASSAGE_CANDIDATES = 20
# Dense hits of documents that are not ready are dropped after the query, so ask for more.
_OVERFETCH = 2


class Searcher:
    def __init__(
        self,
        catalog: Chunks,
        store: VectorStore,
        embedder: Embedder,
        embedders: Callable[[str], Embedder] | None = None,
    ) -> None:
        """`embedders` opens the embedder of another model (a collection re-embedded with
        one); without it, only `embedder`'s model is searched."""
        self._catalog = catalog
        self._store = store
        self._embedder = embedder
        self._embedders = embedders

    def lexical(
        self,
        collection: Collection,
        query: str,
        limit: int,
        document_ids: Sequence[str] | None = None,
    ) -> list[ScoredChunk]:
        """BM25 hits, each scored again within its passage (core/retrieval/passage_rank.py)."""
        matches = self._catalog.scored_terms(collection.id, lexical_tokens(query))
        if not matches:
            return []
        # Searching with the scored terms alone recounts only them: within the budget.
        hits = self._catalog.lexical_search(
            collection.id, list(matches), max(limit, _PASSAGE_CANDIDATES), document_ids
        )
        if not hits:
            return []
        members = self._catalog.passage_chunks(collection.id, passage_ranges(hits), list(matches))
        return rank_in_passages(members, matches, collection.chunks, limit) or hits[:limit]

    def dense(
        self,
        collection: Collection,
        query: str,
        limit: int,
        document_ids: Sequence[str] | None = None,
    ) -> list[ScoredChunk]:
        """Questions are embedded with the collection's model, less the mean of their
        language's questions (core/retrieval/question_means.py). Raises EmbeddingModelMismatch
        when that is another model than this searcher's and it was given no `embedders`."""
        embedder = self._embedder
        if collection.embedding_model != embedder.model_id:
            if self._embedders is None:
                raise EmbeddingModelMismatch(
                    "query_model_mismatch",
                    name=collection.name,
                    model=collection.embedding_model,
                    current=embedder.model_id,
                )
            embedder = self._embedders(collection.embedding_model)
        vector = centred(embedder.model_id, detect_language(query), embedder.embed_query(query))
        hits = self._store.query(collection.space, vector, limit * _OVERFETCH + 10, document_ids)
        chunks = self._catalog.ready_chunks(collection.id, [h.id for h in hits])
        return [ScoredChunk(chunks[h.id], h.similarity) for h in hits if h.id in chunks][:limit]
