"""Sentences of Chinese and English text, with their spans, for extractive answers and for
checking citations sentence by sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at CJK 。！？； (no space follows in Chinese), or at . ! ? followed by a space
# or the end, keeping trailing quotes and citation markers with their sentence; a blank line
# ends one too. A single line break does not: PDFs and Markdown wrap sentences.
_END = re.compile(r"(?:[。！？；]|[.!?](?=\s|$))[”’\"')\]]*(?:\s*\[\d+\])*\s*|\n\s*\n\s*")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


def split_sentences(text: str) -> list[Sentence]:
    found: list[Sentence] = []
    start = 0
    for match in _END.finditer(text):
        end = match.end()
        _append(found, text, start, end)
        start = end
    _append(found, text, start, len(text))
    return found


def _append(found: list[Sentence], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        found.append(Sentence(stripped, start + lead, start + lead + len(stripped)))
