"""Citations are verified, not trusted: each `[n]` must point at a passage that supports the
sentence it ends, measured by how many of the sentence's words (jieba words for Chinese) the
passage holds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.answer.instructions import WITHHELD, withhold_instructions
from core.answer.sentences import split_sentences
from core.answer.vocabulary import Passage
from core.lexical_tokens import lexical_tokens

MARKER = re.compile(r"\s?\[(\d{1,3})\]")

# Half of a sentence's words must be in the passage it cites: an honest paraphrase keeps its
# names, numbers and terms; a citation of an unrelated passage shares almost none.
SUPPORT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Citation:
    n: int
    document_id: str
    filename: str
    page: int | None
    quote: str
    verified: bool
    support: float


def words(text: str) -> set[str]:
    return set(lexical_tokens(MARKER.sub("", text)))


def support(claim: str, passage: str) -> tuple[float, str]:
    """The share of the claim's words found in the passage, and the passage sentence that
    shares the most (the quote shown with the citation)."""
    claimed = words(claim)
    if not claimed:
        return 0.0, ""
    best_quote, best_shared = "", -1
    for sentence in split_sentences(passage):
        text = sentence.text.replace(WITHHELD, "").strip()
        shared = len(claimed & words(text))
        if text and shared > best_shared:
            best_quote, best_shared = text, shared
    return len(claimed & words(passage)) / len(claimed), best_quote


def verify_citations(answer: str, passages: Sequence[Passage]) -> tuple[str, list[Citation]]:
    """Drop markers that point at no passage; check the others against their sentence. A
    passage cited by several sentences keeps its best-supported use."""
    by_n = {p.n: p for p in passages}
    found: dict[int, Citation] = {}
    for sentence in split_sentences(answer):
        claim = MARKER.sub("", sentence.text)
        for number in {int(m) for m in MARKER.findall(sentence.text)}:
            passage = by_n.get(number)
            if passage is None:
                continue
            # An instruction sentence is never shown as what the passage says.
            share, quote = support(claim, withhold_instructions(passage.chunk.text))
            if number not in found or share > found[number].support:
                found[number] = Citation(
                    number,
                    passage.chunk.document_id,
                    passage.filename,
                    passage.chunk.page,
                    quote,
                    share >= SUPPORT_THRESHOLD,
                    round(share, 3),
                )
    cleaned = MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in by_n else "", answer)
    return cleaned, [found[n] for n in sorted(found)]
