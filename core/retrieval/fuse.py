"""Weighted reciprocal rank fusion: each retriever's vote counts by what it is worth for the
query's language and the collection's embedding model (weights fitted by
`python -m bench.fit_fusion`, stored in fusion_weights.json)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from core.catalog.records import ScoredChunk, StoredChunk
from core.retrieval.language import Language

WEIGHTS_FILE = Path(__file__).with_name("fusion_weights.json")
RRF_K = 60


@dataclass(frozen=True)
class FusionWeights:
    dense: float
    lexical: float


@dataclass(frozen=True)
class FusedChunk:
    chunk: StoredChunk
    score: float
    dense_rank: int | None
    lexical_rank: int | None


@cache
def _fitted() -> dict[str, dict[str, dict[str, float]]]:
    loaded: dict[str, dict[str, dict[str, float]]] = json.loads(WEIGHTS_FILE.read_text())
    return loaded


def weights_for(model: str, language: Language) -> FusionWeights:
    """Fitted weights for this model and language; equal weights for a model never fitted."""
    fitted = _fitted().get(model, {}).get(language)
    if fitted is None:
        return FusionWeights(dense=1.0, lexical=1.0)
    return FusionWeights(dense=fitted["dense"], lexical=fitted["lexical"])


def fuse(
    dense: Sequence[ScoredChunk],
    lexical: Sequence[ScoredChunk],
    weights: FusionWeights,
    limit: int,
    k: int = RRF_K,
) -> list[FusedChunk]:
    scores: dict[str, float] = {}
    chunks: dict[str, StoredChunk] = {}
    dense_rank: dict[str, int] = {}
    lexical_rank: dict[str, int] = {}
    for ranking, weight, ranks in (
        (dense, weights.dense, dense_rank),
        (lexical, weights.lexical, lexical_rank),
    ):
        if weight <= 0:
            continue
        for rank, hit in enumerate(ranking, start=1):
            key = hit.chunk.id
            chunks[key] = hit.chunk
            ranks[key] = rank
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    ordered = sorted(scores, key=lambda key: (-scores[key], key))[:limit]
    return [
        FusedChunk(chunks[key], scores[key], dense_rank.get(key), lexical_rank.get(key))
        for key in ordered
    ]


def fuse_rankings(
    rankings: Sequence[Sequence[FusedChunk]], limit: int, k: int = RRF_K
) -> list[FusedChunk]:
    """Reciprocal rank fusion of whole rankings (one per phrasing of a question), equal votes."""
    scores: dict[str, float] = {}
    first: dict[str, FusedChunk] = {}
    for ranking in rankings:
        for rank, fused in enumerate(ranking, start=1):
            key = fused.chunk.id
            first.setdefault(key, fused)
            scores[key] = scores.get(key, 0.0) + 1 / (k + rank)
    ordered = sorted(scores, key=lambda key: (-scores[key], key))[:limit]
    return [replace(first[key], score=scores[key]) for key in ordered]
