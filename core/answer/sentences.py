"""Sentences of Chinese and English text, with their spans, for extractive answers and for
checking citations sentence by sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at CJK 。！？； (no space follows in Chinese), or at . ! ? followed by a space
# or the end, keeping trailing quotes and citation markers with their sentence; a blank line
# ends one too. A single line break does not (PDFs and Markdown wrap sentences), unless it
# ends a title-like line: see _ends_title.
_END = re.compile(r"(?:[。！？；]|[.!?](?=\s|$))[”’\"')\]]*(?:\s*\[\d+\])*\s*|\n\s*\n\s*|\n")
# Words a period follows without ending the sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st vs etc e.g i.e fig figs no nos vol pp al approx dept est inc ltd co"
    " jr sr u.s".split()
)
_WORD_BEFORE_DOT = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")
# `J`, `D.C`, `U.S`: one letter, or letters joined by periods.
_INITIALS = re.compile(r"[A-Z]|(?:[A-Za-z]\.)+[A-Za-z]")
_CJK = re.compile(r"[\u3400-\u9fff]")
# A line this short (in characters; CJK lines hold about a third as many: Chinese PDFs wrap
# anywhere, so it is kept strict) that starts like a title and lacks closing punctuation is
# a title or a label, not a wrapped line of a sentence.
_TITLE_CHARS = 40
_CJK_TITLE_CHARS = 12
CELL_SEPARATOR = " | "
_OPEN_ENDINGS = tuple(",，、:：;-–—(（[")


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
        if match.group().strip(" \t") == "\n":
            if not (_ends_title(text, match.start(), end) or _ends_row(text, match.start())):
                continue
        elif _is_abbreviation(text[start : match.start() + 1]):
            continue
        _append(found, text, start, end)
        start = end
    _append(found, text, start, len(text))
    return found


def _is_abbreviation(piece: str) -> bool:
    """`J.` of `Kevin J. Mitchell`, `e.g.`, `Dr.`: a period that ends no sentence."""
    if not piece.endswith("."):
        return False
    found = _WORD_BEFORE_DOT.search(piece)
    if found is None:
        return False
    word = found.group(1)
    initials = _INITIALS.fullmatch(word) is not None
    return initials or word.lower() in _ABBREVIATIONS


def _ends_title(text: str, newline: int, after: int) -> bool:
    line = text[text.rfind("\n", 0, newline) + 1 : newline].strip()
    following = text[after : after + 1]
    if not line or not following or line.endswith(_OPEN_ENDINGS):
        return False
    limit = _CJK_TITLE_CHARS if _CJK.search(line) else _TITLE_CHARS
    return len(line) <= limit and _starts_like_title(line) and _starts_like_title(following)


def _ends_row(text: str, newline: int) -> bool:
    """A table's row is a line of cells between " | " (ingest/loaders/tables.py): the line
    is what a question about the row wants, whatever punctuation its cells have."""
    return CELL_SEPARATOR in text[text.rfind("\n", 0, newline) + 1 : newline]


def _starts_like_title(text: str) -> bool:
    return text[:1].isupper() or text[:1].isdigit() or bool(_CJK.match(text))


def _append(found: list[Sentence], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        found.append(Sentence(stripped, start + lead, start + lead + len(stripped)))
