"""Which retrieved sentences answer the question, by how much of it they hold: the extractive
backend answers with the best of them, and the answer service weighs the evidence by the
first before deciding to abstain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from core.answer.cite import MARKER, words
from core.answer.follow_up import content_words
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
    leaves to its title what it is about. A follow-up's borrowed words count
    `_CONTEXT_WEIGHT` wherever in the passage they are: they say which passage, while the
    sentence must hold what the follow-up itself asks (when it asks anything in words of its
    own: "为什么？" does not, and then a sentence the conversation already gave is not given
    again). A sentence that speaks as an instruction is never picked, so
    it is neither an answer nor evidence that the passages hold one."""
    asked = set(content_words(prompt.question)) if prompt.borrowed else words(prompt.question)
    borrowed = set(prompt.borrowed) - asked
    if not asked and not borrowed:
        return []
    total = len(asked) + _CONTEXT_WEIGHT * len(borrowed)
    said = "" if asked else "\n".join(m.content for m in prompt.messages if m.role == "assistant")
    picks: list[Pick] = []
    for rank, p in enumerate(prompt.passages):
        stem = PurePath(p.filename).stem.replace("-", " ").replace("_", " ")
        withheld = instruction_sentences(p.chunk.text)
        # Nor does an instruction lend its words to the sentences around it.
        kept = words(
            "\n".join((stem, *p.chunk.heading_path, withhold_instructions(p.chunk.text, withheld)))
        )
        context = asked & kept
        lent = _CONTEXT_WEIGHT * len(borrowed & kept)
        starts = {s.start for s in withheld}
        for s in split_sentences(p.chunk.text):
            own = asked & words(s.text)
            if s.start in starts or not (own or (not asked and borrowed & words(s.text))):
                continue
            if said and MARKER.sub("", s.text).strip() in said:
                continue
            held = len(own) + _CONTEXT_WEIGHT * len(context - own) + lent
            picks.append(Pick(p.n, rank, s.start, s.text, held / total))
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
