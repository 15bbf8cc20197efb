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
    """Where in the chunk's text the sentence is that each `[n]` of the answer quotes, in the
    answer's order (one whose claim shares no word with the passage quotes none)."""


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
    for sentence in split_sentences(answer):
        claim = MARKER.sub("", sentence.text)
        for number in {int(m) for m in MARKER.findall(sentence.text)}:
            passage = by_n.get(number)
            if passage is None:
                continue
            share, quote = support(claim, passage)
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
    spans: dict[int, list[tuple[int, int]]] = {}
    for claim, number in _uses(answer):
        if number in found:
            _, quote = support(claim, by_n[number])
            if quote is not None:
                spans.setdefault(number, []).append((quote.start, quote.end))
    cleaned = MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in by_n else "", answer)
    return cleaned, [replace(found[n], spans=tuple(spans.get(n, ()))) for n in sorted(found)]


def _uses(answer: str) -> list[tuple[str, int]]:
    """Each `[n]` of the answer, in order, with what it cites: the last sentence before it
    since the marker before ("Title [1] A sentence. [1]" cites the title, then the sentence);
    markers side by side ("… [1][2]") cite the same."""
    found: list[tuple[str, int]] = []
    claim, previous = "", 0
    for marker in MARKER.finditer(answer):
        before = split_sentences(answer[previous : marker.start()])
        if before:
            claim = before[-1].text
        found.append((claim, int(marker.group(1))))
        previous = marker.end()
    return found
