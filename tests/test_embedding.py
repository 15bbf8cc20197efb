"""The embedding model's precision: bfloat16 where the CPU computes it natively, and vectors that
stay interchangeable with float32's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.embedding import Embedder
from core.embedding.sentence_transformer import (
    SentenceTransformerEmbedder,
    cpu_has_native_bfloat16,
    resolve_dtype,
)
from core.settings import MINILM
from tests.conftest import make_settings

_FLAGS = "processor\t: 0\nflags\t\t: fpu sse2 avx2 {extra}\nbugs\t\t: spectre_v1\n"


@pytest.mark.parametrize(
    ("extra", "native"),
    [("amx_bf16 amx_tile", True), ("avx512_bf16", True), ("avx512f avx512bw", False)],
)
def test_native_bfloat16_is_read_from_the_cpu_flags(
    tmp_path: Path, extra: str, native: bool
) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(_FLAGS.format(extra=extra))
    assert cpu_has_native_bfloat16(cpuinfo) is native
    assert resolve_dtype("auto", "cpu", cpuinfo) == ("bfloat16" if native else "float32")
    assert resolve_dtype("float32", "cpu", cpuinfo) == "float32"
    assert resolve_dtype("auto", "cuda", cpuinfo) == "float32"


def test_unreadable_cpuinfo_means_float32(tmp_path: Path) -> None:
    assert resolve_dtype("auto", "cpu", tmp_path / "missing") == "float32"


def test_bfloat16_vectors_match_float32_ones(tmp_path: Path) -> None:
    texts = [
        "Backups are copied to the second data centre every night.",
        "知库把文档切成小块，先建立词法索引，再计算向量。",
        "The quick brown fox jumps over the lazy dog.",
    ]
    vectors = {}
    for dtype in ("float32", "bfloat16"):
        embedder = SentenceTransformerEmbedder(
            make_settings(tmp_path, embedding_model=MINILM, embedding_dtype=dtype)
        )
        vectors[dtype] = embedder.embed(texts)
        assert vectors[dtype].dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors[dtype], axis=1), 1.0, atol=1e-3)
    cosines = (vectors["float32"] * vectors["bfloat16"]).sum(axis=1)
    assert cosines.min() > 0.999


def test_a_query_vector_is_the_one_encode_makes(minilm: Embedder) -> None:
    embedder = minilm
    for text in ("How often are backups copied?", "数据备份每天晚上自动进行吗？"):
        assert np.abs(embedder.embed_query(text) - embedder.embed([text])[0]).max() < 2e-3
        assert abs(float(np.linalg.norm(embedder.embed_query(text))) - 1.0) < 1e-5
