"""The offline default: answers with the retrieved sentences that best cover the question,
each cited. No model, no network; `backend` says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from core.answer.cite import words
from core.answer.prompt import NOT_FOUND
from core.answer.sentences import split_sentences
from core.llm.protocol import Prompt
from core.settings import Settings

_MAX_SENTENCES = 3
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
    """Sentences ranked by the share of the question's words they hold (ties: better passage,
    earlier sentence)."""
    asked = words(prompt.question)
    if not asked:
        return []
    picks = [
        Pick(p.n, rank, s.start, s.text, len(asked & words(s.text)) / len(asked))
        for rank, p in enumerate(prompt.passages)
        for s in split_sentences(p.text)
    ]
    picks = [p for p in picks if p.coverage > 0]
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
