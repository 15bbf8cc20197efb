"""Chunks fit the model and point back into their source; Chinese lexical search finds words."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from core.embedding import Embedder
from core.lexical_tokens import lexical_tokens
from core.types import LoadedDocument, Section
from ingest.split import Splitter
from tests.conftest import drain
from tests.nodes import Node


def _splitter(embedder: Embedder, size: int = 200, overlap: int = 32) -> Splitter:
    return Splitter(embedder.count_tokens, embedder.token_spans, size, overlap, embedder.max_tokens)


def test_no_cmrc_chunk_exceeds_the_model_limit_and_spans_point_into_the_source(
    embedder: Embedder, shared_data: Path
) -> None:
    data = json.loads((shared_data / "squad" / "cmrc2018_dev.json").read_text(encoding="utf-8"))
    contexts = [p["context"] for a in data["data"][:60] for p in a["paragraphs"]]
    splitter = _splitter(embedder)
    for context in contexts:
        chunks = splitter.split(LoadedDocument("text/plain", 1, [Section(context)]))
        assert chunks and all(c.tokens <= embedder.max_tokens for c in chunks)
        for chunk in chunks:
            assert context[chunk.start : chunk.end] == chunk.text
        covered = "".join(context[c.start : c.end] for c in chunks)
        assert set(context.replace(" ", "")) <= set(covered)


def test_chinese_text_is_cut_at_sentence_punctuation(embedder: Embedder) -> None:
    sentence = "知库把文档切成语义完整的片段，每个片段都保留页码和标题路径。"
    text = sentence * 20
    chunks = _splitter(embedder, size=64, overlap=8).split(
        LoadedDocument("text/plain", 1, [Section(text, page=3, heading_path=("一", "二"))])
    )
    assert len(chunks) > 3
    assert all(c.text.endswith("。") for c in chunks[:-1])
    assert all(c.page == 3 and c.heading_path == ("一", "二") for c in chunks)
    assert [c.seq for c in chunks] == list(range(len(chunks)))


def test_an_unbroken_run_longer_than_the_limit_is_cut_at_word_pieces(embedder: Embedder) -> None:
    text = "知" * 1000
    chunks = _splitter(embedder).split(LoadedDocument("text/plain", 1, [Section(text)]))
    assert all(c.tokens <= embedder.max_tokens for c in chunks)
    assert sum(len(c.text) for c in chunks) >= 1000


def test_lexical_tokens_split_chinese_words_and_mixed_text() -> None:
    assert {"部署", "方案"} <= set(lexical_tokens("部署方案"))
    assert {"gen", "itgc"} <= set(lexical_tokens("重跑gen-itgc后"))
    assert "the" not in lexical_tokens("The Ethereum yellow paper")
    assert lexical_tokens("ＡＢＣ１２３") == ["abc123"]


@pytest.mark.usefixtures("catalog_url")  # SQLite and PostgreSQL
def test_chinese_lexical_search_finds_two_character_words_and_mixed_terms(
    node_factory: Callable[..., Node],
) -> None:
    node = node_factory()
    collection = node.operations.open_collection("kb")
    node.add_bytes(collection, "a.txt", "我们的部署方案分三步完成。".encode())
    node.add_bytes(collection, "b.txt", "重跑gen-itgc后，检查日志。".encode())
    node.add_bytes(collection, "c.txt", "天气预报说明天下雨。".encode())
    drain(node)

    def top(query: str) -> str:
        hits = node.catalog.lexical_search(collection.id, lexical_tokens(query), 3)
        return hits[0].chunk.text if hits else ""

    assert "部署方案" in top("部署")
    assert "itgc" in top("itgc")
    assert "下雨" in top("明天会下雨吗")


def test_question_words_are_not_index_terms() -> None:
    assert lexical_tokens("How often, and why, are backups copied?") == [
        "often",
        "backups",
        "copied",
    ]
    assert "什么" not in lexical_tokens("备份是什么时候复制的？")
