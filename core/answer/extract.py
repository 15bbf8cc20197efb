"""Which retrieved sentences answer the question, by how much of it they hold: the extractive
backend answers with the best of them, and the answer service weighs the evidence by the
first before deciding to abstain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from core.answer.cite import words
from core.answer.instructions import instruction_sentences, withhold_instructions
from core.answer.sentences import split_sentences
from core.answer.vocabulary import Prompt
from core.retrieval.language import passage_language

_CONTEXT_WEIGHT = 0.5


@dataclass(frozen=True)
class Pick:
    n: int
    rank: int
    position: int
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
        withheld = instruction_sentences(p.chunk.text)
        # Nor does an instruction lend its words to the sentences around it.
        kept = withhold_instructions(p.chunk.text, withheld)
        context = asked & words("\n".join((stem, *p.chunk.heading_path, kept)))
        starts = {s.start for s in withheld}
        for s in split_sentences(p.chunk.text):
            own = asked & words(s.text)
            if own and s.start not in starts:
                held = len(own) + _CONTEXT_WEIGHT * len(context - own)
                picks.append(Pick(p.n, rank, s.start, s.text, held / len(asked)))
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
    withheld = {s.start for s in instruction_sentences(first.chunk.text)}
    sentences = [
        s
        for s in split_sentences(first.chunk.text)
        if s.start not in withheld and not s.text.lstrip().startswith("#")
    ]
    rank = prompt.passages.index(first)
    return [Pick(first.n, rank, s.start, s.text, 0.0) for s in sentences[:count]]
