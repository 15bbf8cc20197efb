"""Hybrid retrieval: the dense side (embedding the query, then the vector search) and the
lexical search run concurrently, then fuse; a retriever whose weight is zero for the query's
language is not run at all (the default model's vectors are noise for Chinese, and embedding the
query would only cost time)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from core.catalog.records import Collection, ScoredChunk
from core.retrieval.fuse import (
    FusedChunk,
    FusionWeights,
    Votes,
    fuse,
    fuse_rankings,
    weights_for,
)
from core.retrieval.language import Language, detect_language
from core.retrieval.rerank import Reranker
from core.retrieval.search import Searcher

# Each retriever contributes this many candidates per result asked for (at least 20). Measured
# with the top 10 (bench.retrieval, 1,000 questions): 2 and 4 rank alike (SQuAD hit@5 0.933 vs
# 0.928, mrr@10 0.857 vs 0.859; CMRC 0.987 vs 0.988, 0.932 both), and 2 reads half the rows.
_CANDIDATES = 2

RetrievalMode = Literal["hybrid", "dense", "lexical"]
# One retriever alone: its vote is the ranking, in either language.
_ALONE: dict[str, FusionWeights] = {
    "dense": FusionWeights(dense=1.0, lexical=0.0, across=Votes(1.0, 0.0)),
    "lexical": FusionWeights(dense=0.0, lexical=1.0, across=Votes(0.0, 1.0)),
}


@dataclass(frozen=True)
class Retrieval:
    chunks: list[FusedChunk]
    language: Language
    weights: FusionWeights


class HybridRetriever:
    def __init__(
        self,
        searcher: Searcher,
        reranker: Reranker | None = None,
        rerank_candidates: int = 20,
        mode: RetrievalMode = "hybrid",
    ) -> None:
        self._searcher = searcher
        self._mode = mode
        self._reranker = reranker
        self._rerank_candidates = rerank_candidates
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="zhiku-retrieve")

    def retrieve(
        self,
        collection: Collection,
        query: str,
        top_k: int,
        document_ids: Sequence[str] | None = None,
        weights: FusionWeights | None = None,
        expansions: Sequence[str] = (),
    ) -> Retrieval:
        """`expansions`: other phrasings of the query (or a hypothetical answer), retrieved
        with the query's weights and fused with it."""
        language = detect_language(query)
        weights = (
            weights or _ALONE.get(self._mode) or weights_for(collection.embedding_model, language)
        )
        keep = max(top_k, self._rerank_candidates) if self._reranker else top_k
        # Fused rankings are cut only after fusion: a passage that each phrasing ranks second
        # beats one that a single phrasing ranks first.
        depth = max(keep * _CANDIDATES, 20) if expansions else keep
        rankings = [
            self._hybrid(collection, q, depth, document_ids, weights, language)
            for q in (query, *expansions)
        ]
        fused = rankings[0] if len(rankings) == 1 else fuse_rankings(rankings, keep)
        if self._reranker is not None:
            fused = self._reranker.rerank(query, fused, top_k)
        return Retrieval(fused[:top_k], language, weights)

    def _hybrid(
        self,
        collection: Collection,
        query: str,
        limit: int,
        document_ids: Sequence[str] | None,
        weights: FusionWeights,
        language: Language,
    ) -> list[FusedChunk]:
        wanted = max(limit * _CANDIDATES, 20)
        dense: list[ScoredChunk] = []
        lexical: list[ScoredChunk] = []
        dense_job = None
        if weights.runs_dense:
            # Beside the lexical search: ONNX Runtime holds no GIL while it embeds the query.
            dense_job = self._pool.submit(
                self._searcher.dense, collection, query, wanted, document_ids
            )
        if weights.runs_lexical:
            lexical = self._searcher.lexical(collection, query, wanted, document_ids)
        if dense_job is not None:
            dense = dense_job.result()
        return fuse(dense, lexical, weights, limit, language)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
