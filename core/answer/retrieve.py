"""Hybrid retrieval: dense and lexical run concurrently, then fuse; a retriever whose weight
is zero for the query's language is not run at all (the default model's vectors are noise for
Chinese, and embedding the query would only cost time)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from core.answer.fuse import FusedChunk, FusionWeights, fuse, weights_for
from core.answer.language import Language, detect_language
from core.catalog.records import Collection, ScoredChunk
from core.search import Searcher

# Each retriever contributes this many candidates per result asked for.
_CANDIDATES = 4


@dataclass(frozen=True)
class Retrieval:
    chunks: list[FusedChunk]
    language: Language
    weights: FusionWeights


class HybridRetriever:
    def __init__(self, searcher: Searcher) -> None:
        self._searcher = searcher
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="zhiku-retrieve")

    def retrieve(
        self,
        collection: Collection,
        query: str,
        top_k: int,
        document_ids: Sequence[str] | None = None,
        weights: FusionWeights | None = None,
    ) -> Retrieval:
        language = detect_language(query)
        weights = weights or weights_for(collection.embedding_model, language)
        wanted = max(top_k * _CANDIDATES, 20)
        dense: list[ScoredChunk] = []
        lexical: list[ScoredChunk] = []
        dense_job = (
            self._pool.submit(self._searcher.dense, collection, query, wanted, document_ids)
            if weights.dense > 0
            else None
        )
        if weights.lexical > 0:
            lexical = self._searcher.lexical(collection, query, wanted, document_ids)
        if dense_job is not None:
            dense = dense_job.result()
        return Retrieval(fuse(dense, lexical, weights, top_k), language, weights)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
