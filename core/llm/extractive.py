"""The offline default: answers with the retrieved sentences that best cover the question,
each cited. No model, no network; `backend` says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import PurePath

from core.answer.cite import words
from core.answer.prompt import NOT_FOUND
from core.answer.sentences import split_sentences
from core.llm.protocol import Prompt
from core.settings import Settings

_MAX_SENTENCES = 3
_CONTEXT_WEIGHT = 0.5
# A further sentence must cover at least this share of what the best one covers.
_RELATIVE = 0.6


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
    leaves to its title what it is about."""
    asked = words(prompt.question)
    if not asked:
        return []
    picks: list[Pick] = []
    for rank, p in enumerate(prompt.passages):
        stem = PurePath(p.filename).stem.replace("-", " ").replace("_", " ")
        context = asked & words("\n".join((stem, *p.heading_path, p.text)))
        for s in split_sentences(p.text):
            own = asked & words(s.text)
            if own:
                held = len(own) + _CONTEXT_WEIGHT * len(context - own)
                picks.append(Pick(p.n, rank, s.start, s.text, held / len(asked)))
    picks.sort(key=lambda p: (-p.coverage, p.rank, p.position))
    return picks


class ExtractiveLLM:
    generative = False
    backend = "extractive"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def stream(self, prompt: Prompt) -> AsyncIterator[str]:
        picks = best_sentences(prompt)
        if not picks:
            yield NOT_FOUND[prompt.language]
            return
        chosen = [p for p in picks if p.coverage >= picks[0].coverage * _RELATIVE][:_MAX_SENTENCES]
        chosen.sort(key=lambda p: (p.rank, p.position))
        joiner = "" if prompt.language == "zh" else " "
        for i, pick in enumerate(chosen):
            yield f"{joiner if i else ''}{pick.text} [{pick.n}]"

    async def aclose(self) -> None:
        return None
