"""Which retrieved sentences answer the question, by how much of it they hold: the extractive
backend answers with the best of them, and the answer service weighs the evidence by the
first before deciding to abstain."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from core.answer.answer_type import AnswerType, expected_type, holds
from core.answer.cite import words
from core.answer.follow_up import content_words
from core.answer.instructions import withhold_instructions
from core.answer.quotes import Quote, passage_quotes
from core.answer.sentences import CELL_SEPARATOR
from core.answer.vocabulary import Passage, Prompt
from core.retrieval.language import passage_language

_CONTEXT_WEIGHT = 0.5
# An extractive answer quotes at most this many sentences, each covering at least this share of
# what the best one covers.
_MAX_SENTENCES = 3
_RELATIVE = 0.6
# What the best sentence's share of the question is worth as evidence when the question asks
# for a kind of answer (a number, a time, a person, a place) that no sentence an answer would
# quote holds: sharing the question's words is not answering it. Fitted by
# `python -m bench.same_topic`; a reason is left out, as its words (因为, because) are too often
# left unsaid for a sentence to be judged by them.
_UNTYPED_WEIGHT = 0.6
_JUDGED: frozenset[AnswerType] = frozenset({"number", "time", "person", "place"})


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
    if prompt.borrowed:
        return _follow_up_sentences(prompt)
    asked = words(prompt.question)
    if not asked:
        return []
    picks: list[Pick] = []
    for rank, p, context, sentences in _readable(prompt, asked):
        for s in sentences:
            own = asked & words(s.text)
            if own:
                held = len(own) + _CONTEXT_WEIGHT * len(context - own)
                picks.append(Pick(p.n, rank, s.start, s.text, held / len(asked)))
    picks.sort(key=lambda p: (-p.coverage, p.rank, p.position))
    return picks


def chosen(picks: list[Pick]) -> list[Pick]:
    """The sentences an extractive answer quotes: the best, and the next best that cover at
    least `_RELATIVE` of what it covers, at most `_MAX_SENTENCES`."""
    if not picks:
        return []
    return [p for p in picks if p.coverage >= picks[0].coverage * _RELATIVE][:_MAX_SENTENCES]


def evidence(prompt: Prompt, picks: list[Pick]) -> float:
    """How surely the passages answer the question, for the decision to abstain: the best
    sentence's share of it; when the question asks for a kind of answer (a number, a time, a
    person, a place), the share of the best sentence an answer would quote that holds one,
    and the best's own share counts `_UNTYPED_WEIGHT`. The sentences are ranked as before:
    the judgement says whether to answer, not with what. A follow-up's ranking already weighs
    the kind (`_follow_up_sentences`)."""
    if not picks:
        return 0.0
    best = picks[0].coverage
    kind = expected_type(prompt.question)
    if prompt.borrowed or kind not in _JUDGED:
        return best
    typed = [p.coverage for p in chosen(picks) if holds(kind, p.text, prompt.question)]
    return max([best * _UNTYPED_WEIGHT, *typed])


def _follow_up_sentences(prompt: Prompt) -> list[Pick]:
    """For a follow-up: its own words as for any question; the words it borrowed from the
    turns it refers to, all together worth one word, by the share of them in the passage
    (they say which passage, not which sentence); and the kind of answer its question word
    asks for ("为什么？", "By when?") worth one word, in the sentence."""
    asked = set(content_words(prompt.question)) | _letters(prompt.question)
    borrowed = set(prompt.borrowed) - asked
    kind = expected_type(prompt.question)
    total = len(asked) + 1 + (kind is not None)
    picks: list[Pick] = []
    for rank, p, context, sentences in _readable(prompt, asked | borrowed):
        lent = len(borrowed & context) / len(borrowed) if borrowed else 0.0
        for s in sentences:
            found = words(s.text)
            own = asked & (found | _letters(s.text))
            typed = kind is not None and holds(kind, s.text, prompt.question)
            if not (own or typed or (not asked and borrowed & found)):
                continue
            held = len(own) + _CONTEXT_WEIGHT * len(context & asked - own) + lent + typed
            picks.append(Pick(p.n, rank, s.start, s.text, held / total))
    picks.sort(key=lambda p: (-p.coverage, p.rank, p.position))
    return picks


# A letter standing alone is a name in a follow-up ("那 C 呢？", "其中的 I 代表什么？"), while
# the index leaves single letters out as noise.
_LETTER = re.compile(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])")


def _letters(text: str) -> set[str]:
    found = {m.lower() for m in _LETTER.findall(text)}
    # In English text "I" and "a" are words.
    return found if passage_language(text) == "zh" else found - {"a", "i"}


def _readable(
    prompt: Prompt, wanted: set[str]
) -> Iterator[tuple[int, Passage, set[str], list[Quote]]]:
    """Each passage with the wanted words found in its context (the file's name, headings and
    text, instructions left out), and its quotable sentences (quotes.py) that do not speak as
    an instruction."""
    for rank, p in enumerate(prompt.passages):
        stem = PurePath(p.filename).stem.replace("-", " ").replace("_", " ")
        # Nor does an instruction lend its words to the sentences around it. A running header
        # does: like the file name, it says what the page is about.
        kept = withhold_instructions(p.chunk.text)
        context = wanted & words("\n".join((stem, *p.chunk.heading_path, kept)))
        headers = _header_rows(p.chunk.text)
        yield (
            rank,
            p,
            context,
            [q for q in passage_quotes(p) if not q.instruction and q.start not in headers],
        )


def _header_rows(text: str) -> set[int]:
    """Where the header row of each run of table rows starts: a header names the columns, not
    an answer; its words stay in the passage's context for the rows under it."""
    starts: set[int] = set()
    position = 0
    previous_row = False
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        row = CELL_SEPARATOR in line
        following = index + 1 < len(lines) and CELL_SEPARATOR in lines[index + 1]
        if row and not previous_row and following:
            starts.add(position)
        previous_row = row
        position += len(line)
    return starts


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
