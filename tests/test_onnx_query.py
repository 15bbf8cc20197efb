"""Questions are embedded by an ONNX Runtime export of the model: the same vectors as the
model's own, exported once, checked before use, and torch whenever the export is not usable."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from core.embedding import Embedder
from core.embedding.onnx_query import OnnxExportError, open_query_encoder
from core.embedding.sentence_transformer import SentenceTransformerEmbedder, resolve_model_path
from core.settings import MINILM
from tests.conftest import make_settings

QUESTIONS = (
    "How often are backups copied to the second data centre?",
    "数据备份每天晚上自动进行吗？",
    "What does RFC 9113 say about SETTINGS_ENABLE_PUSH?",
)


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_each_query_runtime_gives_the_vector_the_model_gives(
    minilm: Embedder, tmp_path: Path, runtime: str
) -> None:
    queries = SentenceTransformerEmbedder(
        make_settings(tmp_path, embedding_model=MINILM, embedding_query_runtime=runtime)
    )
    for question in QUESTIONS:
        vector = queries.embed_query(question)
        assert vector.dtype == np.float32
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
        assert float(vector @ minilm.embed([question])[0]) > 0.999


def test_the_export_is_made_once_and_reused(tmp_path: Path) -> None:
    model = resolve_model_path(MINILM)
    cache = tmp_path / "cache"
    first = open_query_encoder(model, 256, cache)
    [exported] = cache.iterdir()
    made = exported.stat().st_mtime_ns
    second = open_query_encoder(model, 256, cache)
    assert [p.name for p in cache.iterdir()] == [exported.name]
    assert exported.stat().st_mtime_ns == made
    assert np.array_equal(first.encode(QUESTIONS[0]), second.encode(QUESTIONS[0]))


def test_an_export_that_disagrees_with_the_model_is_refused_and_not_kept(tmp_path: Path) -> None:
    # Cut at 64 word pieces instead of the model's 256, the export sees less of a long text than
    # the model does: the check must catch it.
    cache = tmp_path / "cache"
    with pytest.raises(OnnxExportError, match="cosine"):
        open_query_encoder(resolve_model_path(MINILM), 64, cache)
    assert list(cache.iterdir()) == []


def test_queries_fall_back_to_torch_when_no_export_can_be_made(
    minilm: Embedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("the cache folder's path is taken by a file")
    queries = SentenceTransformerEmbedder(
        make_settings(tmp_path, embedding_model=MINILM, model_cache_dir=blocked)
    )
    with caplog.at_level(logging.WARNING, logger="zhiku.embedder"):
        queries.warm_up()
    assert queries.loaded
    assert "embedded by torch" in caplog.text
    vector = queries.embed_query(QUESTIONS[0])
    assert float(vector @ minilm.embed([QUESTIONS[0]])[0]) > 0.999
