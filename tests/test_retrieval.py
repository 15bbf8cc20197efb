"""Hybrid retrieval: fitted weights per language, and fusion that keeps both sides' votes."""

from __future__ import annotations

import pytest

from core.answer.fuse import FusionWeights, fuse, weights_for
from core.answer.language import detect_language
from core.answer.retrieve import HybridRetriever
from core.catalog.records import ScoredChunk, StoredChunk
from core.search import Searcher
from ingest.engine import Engine
from tests.conftest import drain


def _chunk(name: str) -> StoredChunk:
    return StoredChunk(0, "c", "d", name, 0, name, None, (), 0, len(name), 1)


def test_language_follows_the_question_not_its_product_names() -> None:
    assert detect_language("Zhiku 的 API 怎么部署？") == "zh"
    assert detect_language("How is 知库 deployed?") == "en"


def test_default_model_ignores_dense_votes_for_chinese_as_fitted() -> None:
    zh = weights_for("all-MiniLM-L6-v2", "zh")
    en = weights_for("all-MiniLM-L6-v2", "en")
    assert zh.dense == 0 and zh.lexical > 0
    assert 0 < en.dense < en.lexical
    assert weights_for("some-unfitted-model", "zh") == FusionWeights(1.0, 1.0)


def test_fusion_ranks_by_weighted_reciprocal_rank() -> None:
    a, b, c = _chunk("a"), _chunk("b"), _chunk("c")
    dense = [ScoredChunk(a, 0.9), ScoredChunk(b, 0.8)]
    lexical = [ScoredChunk(b, 9.0), ScoredChunk(c, 5.0)]
    fused = fuse(dense, lexical, FusionWeights(1.0, 1.0), 3)
    assert [f.chunk.id for f in fused] == ["b", "a", "c"]
    assert (fused[0].dense_rank, fused[0].lexical_rank) == (2, 1)
    only_lexical = fuse(dense, lexical, FusionWeights(0.0, 1.0), 3)
    assert [f.chunk.id for f in only_lexical] == ["b", "c"]


@pytest.mark.usefixtures("catalog_url")  # SQLite and PostgreSQL
def test_chinese_question_is_answered_from_the_lexical_side_only(engine: Engine) -> None:
    collection = engine.intake.collection("kb")
    engine.intake.add_bytes(collection, "a.txt", "知库把数据保存在本地目录。".encode())
    engine.intake.add_bytes(collection, "b.txt", b"Zhiku keeps its data in a local folder.")
    drain(engine)
    retriever = HybridRetriever(Searcher(engine.catalog, engine.store, engine.embedder))
    zh = retriever.retrieve(collection, "数据保存在哪里", 5)
    assert zh.weights.dense == 0 and zh.chunks
    assert all(f.dense_rank is None for f in zh.chunks)
    en = retriever.retrieve(collection, "Where does Zhiku keep its data?", 5)
    assert any(f.dense_rank is not None for f in en.chunks)
    assert "local folder" in en.chunks[0].chunk.text
    retriever.close()
