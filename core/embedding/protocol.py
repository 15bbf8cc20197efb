"""What an embedder provides: word-piece counts for the splitter (the model's own tokenizer,
so chunks fit its window) and unit vectors for passages and questions."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Embedder(Protocol):
    model_id: str
    """The ZHIKU_EMBEDDING_MODEL it was opened with; a collection records it at creation."""

    @property
    def max_tokens(self) -> int:
        """Word pieces a chunk may hold: the model's window less its special tokens."""
        ...

    @property
    def dimension(self) -> int:
        """Length of every vector. Loads the model. Raises ConfigError when it cannot say."""
        ...

    @property
    def loaded(self) -> bool:
        """Whether a question would be embedded without loading anything first."""
        ...

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces of each text, without special tokens; cheap, no model needed."""
        ...

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character span of each word piece, in order, for cutting an over-long piece."""
        ...

    def load(self) -> object:
        """Load the model now (idempotent), so that the first batch does not wait for it."""
        ...

    def warm_up(self) -> None:
        """Everything a question needs, loaded now (the service calls it at start)."""
        ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors of passages, one row per text, in order."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """The unit-length float32 vector of one question, in one short pass; called from
        request threads, never on the event loop."""
        ...
