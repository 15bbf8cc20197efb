"""Weighted reciprocal rank fusion: each retriever's vote counts by what it is worth for the
query's language and the collection's embedding model (weights fitted by
`python -m bench.fit_fusion`, stored in fusion_weights.json). A chunk in another language than
the question's (a Chinese passage for an English question) takes the weights fitted for
questions across languages, where a multilingual model's vote is worth far more than the few
words the two languages share."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from core.catalog.records import ScoredChunk, StoredChunk
from core.embedding import vector_family
from core.retrieval.language import Language, passage_language

WEIGHTS_FILE = Path(__file__).with_name("fusion_weights.json")
RRF_K = 60


@dataclass(frozen=True)
class Votes:
    dense: float
    lexical: float


@dataclass(frozen=True)
class FusionWeights:
    dense: float
    lexical: float
    across: Votes | None = None
    """For chunks in the other language; None: the same as for chunks in the question's."""

    def votes(self, same_language: bool) -> Votes:
        if same_language or self.across is None:
            return Votes(self.dense, self.lexical)
        return self.across

    @property
    def runs_dense(self) -> bool:
        return self.dense > 0 or (self.across is not None and self.across.dense > 0)

    @property
    def runs_lexical(self) -> bool:
        return self.lexical > 0 or (self.across is not None and self.across.lexical > 0)


@dataclass(frozen=True)
class FusedChunk:
    chunk: StoredChunk
    score: float
    dense_rank: int | None
    lexical_rank: int | None
    dense_score: float | None = None
    """The dense side's cosine, where it found the chunk."""


@cache
def _fitted() -> dict[str, dict[str, dict[str, object]]]:
    loaded: dict[str, dict[str, dict[str, object]]] = json.loads(WEIGHTS_FILE.read_text())
    return loaded


def weights_for(model: str, language: Language) -> FusionWeights:
    """Fitted weights for this model and language; equal weights for a model never fitted."""
    fitted = _fitted().get(vector_family(model), {}).get(language)
    if fitted is None:
        return FusionWeights(dense=1.0, lexical=1.0)
    dense = float(fitted["dense"])  # type: ignore[arg-type]
    across = fitted.get("across")
    # The votes across languages were fitted on one language's passages, where only their
    # ratio counts; beside passages in the question's language, a dense vote counts the same
    # whichever language its passage is in, or the other language's passages would crowd out
    # the question's own wherever the dense side weighs little (Chinese questions: 0.1).
    scale = dense / across["dense"] if isinstance(across, dict) and across["dense"] else 0.0
    return FusionWeights(
        dense=dense,
        lexical=float(fitted["lexical"]),  # type: ignore[arg-type]
        across=None
        if not isinstance(across, dict)
        else Votes(dense, scale * float(across["lexical"])),
    )


def fuse(
    dense: Sequence[ScoredChunk],
    lexical: Sequence[ScoredChunk],
    weights: FusionWeights,
    limit: int,
    language: Language | None = None,
    k: int = RRF_K,
) -> list[FusedChunk]:
    """`language`: the question's; without it every chunk counts as in the same language."""
    scores: dict[str, float] = {}
    chunks: dict[str, StoredChunk] = {}
    dense_rank: dict[str, int] = {}
    lexical_rank: dict[str, int] = {}
    same: dict[str, bool] = {}
    dense_score = {hit.chunk.id: hit.score for hit in dense}
    for ranking, ranks in ((dense, dense_rank), (lexical, lexical_rank)):
        for rank, hit in enumerate(ranking, start=1):
            key = hit.chunk.id
            if key not in same:
                # Read from the chunk's start: 80 whole chunks took 6 ms, a quarter of a query.
                same[key] = (
                    language is None
                    or weights.across is None
                    or passage_language(hit.chunk.text) == language
                )
            votes = weights.votes(same[key])
            weight = votes.dense if ranks is dense_rank else votes.lexical
            if weight <= 0:
                continue
            chunks[key] = hit.chunk
            ranks[key] = rank
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    ordered = sorted(scores, key=lambda key: (-scores[key], key))[:limit]
    return [
        FusedChunk(
            chunks[key],
            scores[key],
            dense_rank.get(key),
            lexical_rank.get(key),
            dense_score.get(key) if key in dense_rank else None,
        )
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
