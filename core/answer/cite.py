"""Citations are verified, not trusted: each `[n]` must point at a passage that supports the
sentence it ends, measured by how many of the sentence's words (jieba words for Chinese) the
passage holds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from core.answer.instructions import withhold_instructions
from core.answer.quotes import Quote, passage_quotes
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
    spans: tuple[tuple[int, int], ...] = ()
    """Where in the chunk's text the sentence is that each use of `[n]` quotes, in the
    answer's order (a use whose sentence shares no word with the passage quotes none)."""


def words(text: str) -> set[str]:
    return set(lexical_tokens(MARKER.sub("", text)))


def support(claim: str, passage: Passage) -> tuple[float, Quote | None]:
    """The share of the claim's words found in the passage, and the passage sentence that
    shares the most (the quote shown with the citation); of two that share as many, the one
    with fewer words the claim lacks, which is the sentence an extractive answer quoted. An
    instruction sentence is never shown as what the passage says, nor a sentence that shares
    no word (a claim in another language than the passage's has no quote)."""
    claimed = words(claim)
    if not claimed:
        return 0.0, None
    best: Quote | None = None
    best_key = (0, 0)
    for quote in passage_quotes(passage):
        if quote.instruction:
            continue
        own = words(quote.text)
        key = (len(claimed & own), -len(own - claimed))
        if key[0] and (best is None or key > best_key):
            best, best_key = quote, key
    share = len(claimed & words(withhold_instructions(passage.chunk.text))) / len(claimed)
    return share, best


def verify_citations(answer: str, passages: Sequence[Passage]) -> tuple[str, list[Citation]]:
    """Drop markers that point at no passage; check the others against their sentence. A
    passage cited by several sentences keeps its best-supported use, and the span of the
    sentence each use quotes."""
    by_n = {p.n: p for p in passages}
    found: dict[int, Citation] = {}
    spans: dict[int, list[tuple[int, int]]] = {}
    for sentence in split_sentences(answer):
        claim = MARKER.sub("", sentence.text)
        for number in dict.fromkeys(int(m) for m in MARKER.findall(sentence.text)):
            passage = by_n.get(number)
            if passage is None:
                continue
            share, quote = support(claim, passage)
            if quote is not None:
                spans.setdefault(number, []).append((quote.start, quote.end))
            if number not in found or share > found[number].support:
                found[number] = Citation(
                    number,
                    passage.chunk.document_id,
                    passage.filename,
                    passage.chunk.page,
                    "" if quote is None else quote.text,
                    share >= SUPPORT_THRESHOLD,
                    round(share, 3),
                )
    cleaned = MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in by_n else "", answer)
    return cleaned, [replace(found[n], spans=tuple(spans.get(n, ()))) for n in sorted(found)]
