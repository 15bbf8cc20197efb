"""An answer does not recite the system prompt. A run of the answer that shares `SPAN` or more
consecutive words (a Chinese character counts as a word) with the system message is replaced;
runs the not-found messages or the passages share with it are allowed, since an answer may say
those."""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.retrieval.language import Language

# Eight words in the system prompt's own order do not happen by chance in an answer about
# documents; a recitation of any real part of it is longer.
SPAN = 8
WITHHELD: dict[Language, str] = {"zh": "[已隐去]", "en": "[withheld]"}

_UNIT = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def units(text: str) -> list[tuple[str, int, int]]:
    """Words, lower-cased, with their spans; each CJK character is a word of its own."""
    found: list[tuple[str, int, int]] = []
    for m in _UNIT.finditer(text):
        word, start = m.group(0), m.start()
        if _CJK.search(word) is None:
            found.append((word.lower(), start, m.end()))
            continue
        # Split a run that mixes CJK and other letters: each CJK character alone.
        piece = ""
        for k, ch in enumerate(word):
            if _CJK.match(ch):
                if piece:
                    found.append((piece.lower(), start + k - len(piece), start + k))
                    piece = ""
                found.append((ch, start + k, start + k + 1))
            else:
                piece += ch
        if piece:
            found.append((piece.lower(), m.end() - len(piece), m.end()))
    return found


def grams(text: str) -> set[tuple[str, ...]]:
    words = [u[0] for u in units(text)]
    return {tuple(words[i : i + SPAN]) for i in range(len(words) - SPAN + 1)}


class PromptGuard:
    """One answer's guard. In a stream it holds back a tail of fewer than SPAN words that begins
    a run of the system prompt, and a run that matches up to the end, until it is decided; other
    text passes at once."""

    def __init__(self, system: str, allowed: Iterable[str], language: Language) -> None:
        self._grams = grams(system)
        for text in allowed:
            if not self._grams:
                break
            self._grams -= grams(text)
        # The starts of the runs: only a tail of the stream that begins one is held back.
        self._starts = {g[:k] for g in self._grams for k in range(1, SPAN)}
        self._placeholder = WITHHELD[language]
        self._held = ""
        self.removed = 0

    def feed(self, text: str) -> str:
        return self._guard(text, complete=False)

    def close(self) -> str:
        return self._guard("", complete=True)

    def _guard(self, text: str, complete: bool) -> str:
        held = self._held + text
        if not self._grams:
            self._held = ""
            return held
        words = units(held)
        end = len(held)
        if not complete and words and words[-1][2] == end and not _CJK.match(words[-1][0]):
            end = words.pop()[1]  # the last word may go on in the next delta
        keys = [w[0] for w in words]
        runs: list[list[int]] = []
        for i in range(len(words) - SPAN + 1):
            if tuple(keys[i : i + SPAN]) in self._grams:
                if runs and i <= runs[-1][1]:
                    runs[-1][1] = i + SPAN
                else:
                    runs.append([i, i + SPAN])
        decided = len(words)
        if not complete:
            decided = next(
                (
                    i
                    for i in range(max(len(words) - (SPAN - 1), 0), len(words))
                    if tuple(keys[i:]) in self._starts
                ),
                len(words),
            )
        if runs and runs[-1][1] >= decided and not complete:
            decided = runs[-1][0]
            runs.pop()
        cut = end if decided >= len(words) else words[decided][1]
        out, position = [], 0
        for start, end in runs:
            out += [held[position : words[start][1]], self._placeholder]
            position = words[end - 1][2]
            self.removed += 1
        out.append(held[position:cut])
        self._held = held[cut:]
        return "".join(out)
