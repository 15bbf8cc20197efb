"""Which retrieved sentences answer the question, by how much of it they hold: the extractive
backend answers with the best of them, and the answer service weighs the evidence by the
first before deciding to abstain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from core.answer.cite import words
from core.answer.instructions import withhold_instructions
from core.answer.quotes import passage_quotes
from core.answer.vocabulary import Prompt
from core.retrieval.language import passage_language

_CONTEXT_WEIGHT = 0.5


@dataclass(frozen=True)
class Pick:
    n: int
    rank: int
    position: int
    """Where the sentence starts in the passage's chunk text."""
    text: str
    coverage: float


def best_sentences(prompt: Prompt) -> list[Pick]:
    """Sentences ranked by how much of the question they hold (ties: better passage, earlier
    sentence). A question word in the sentence counts fully; one only in its context (the rest
    of the passage, its headings, the file's name) counts `_CONTEXT_WEIGHT`: a sentence often
    leaves to its title what it is about. A sentence that speaks as an instruction is never
    picked, so it is neither an answer nor evidence that the passages hold one."""
    asked = words(prompt.question)
    if not asked:
        return []
    picks: list[Pick] = []
    for rank, p in enumerate(prompt.passages):
        stem = PurePath(p.filename).stem.replace("-", " ").replace("_", " ")
        # Nor does an instruction lend its words to the sentences around it. A running header
        # does: like the file name, it says what the page is about.
        kept = withhold_instructions(p.chunk.text)
        context = asked & words("\n".join((stem, *p.chunk.heading_path, kept)))
        for q in passage_quotes(p):
            own = asked & words(q.text)
            if own and not q.instruction:
                held = len(own) + _CONTEXT_WEIGHT * len(context - own)
                picks.append(Pick(p.n, rank, q.start, q.text, held / len(asked)))
    picks.sort(key=lambda p: (-p.coverage, p.rank, p.position))
    return picks


def across_picks(prompt: Prompt, count: int = 3) -> list[Pick]:
    """The first sentences of the best passage in another language than the question's: the
    question's words cannot be in it, so coverage says nothing of it, while retrieval ranked
    it. None when every passage is in the question's language."""
    first = next(
        (p for p in prompt.passages if passage_language(p.chunk.text) != prompt.language), None
    )
    if first is None:
        return []
    sentences = [
        q for q in passage_quotes(first) if not q.instruction and not q.text.startswith("#")
    ]
    rank = prompt.passages.index(first)
    return [Pick(first.n, rank, q.start, q.text, 0.0) for q in sentences[:count]]
