"""Embedders behind one Protocol: the splitter counts in their word pieces, the pipeline embeds
passages, retrieval embeds questions. Every model named by ZHIKU_EMBEDDING_MODEL runs as a
sentence-transformers model today; an engine of another kind is a file here and a line in
`open_embedder`."""

from __future__ import annotations

from core.embedding.protocol import Embedder
from core.settings import Settings

__all__ = ["Embedder", "open_embedder"]


def open_embedder(settings: Settings) -> Embedder:
    """The tokenizer loads at once, the model on first use."""
    from core.embedding.sentence_transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings)
