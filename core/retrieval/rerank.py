"""An optional cross-encoder reranker: it reads the question and each fused candidate together,
which ranks better than either retriever alone but costs a forward pass per candidate. Off by
default (no cross-encoder ships offline); ZHIKU_RERANK_MODEL names a local model folder or one
already in the Hugging Face cache."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from core.embedding.loading import LazyModel
from core.embedding.sentence_transformer import resolve_model_path
from core.retrieval.fuse import FusedChunk
from core.settings import Settings

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder


class Reranker(Protocol):
    def rerank(self, query: str, candidates: Sequence[FusedChunk], limit: int) -> list[FusedChunk]:
        """The best `limit` candidates, best first, each with the reranker's score."""
        ...


class CrossEncoderReranker:
    def __init__(self, settings: Settings) -> None:
        path = resolve_model_path(settings.rerank_model)
        device = settings.embedding_device

        def make() -> CrossEncoder:
            from sentence_transformers import CrossEncoder

            model: CrossEncoder = CrossEncoder(str(path), device=device)
            return model

        self._model = LazyModel(make)

    def rerank(self, query: str, candidates: Sequence[FusedChunk], limit: int) -> list[FusedChunk]:
        if not candidates:
            return []
        scores = self._model.get().predict(
            [(query, c.chunk.text) for c in candidates], show_progress_bar=False
        )
        ranked = sorted(
            zip(candidates, (float(s) for s in scores), strict=True),
            key=lambda pair: (-pair[1], pair[0].chunk.id),
        )
        return [replace(c, score=score) for c, score in ranked[:limit]]


def open_reranker(settings: Settings) -> Reranker | None:
    return CrossEncoderReranker(settings) if settings.rerank_model else None
