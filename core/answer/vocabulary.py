"""The words the answer layer speaks: numbered passages, chat messages and the prompt built
from them. Every LLM backend takes a `Prompt`; none of these depends on a backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.catalog.records import StoredChunk
from core.retrieval.language import Language

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk as the prompt numbers it: `[n]` in an answer cites passage n. The
    chunk itself is carried, not copied field by field, so a chunk's fields stay declared once
    (core/types.py)."""

    n: int
    chunk: StoredChunk
    filename: str
    running: frozenset[str] = frozenset()
    """Its document's running headers and footers (quotes.py `running_lines`), which no
    quote of it holds."""


@dataclass(frozen=True)
class Prompt:
    """The chat messages an LLM sees, with the structure they were built from (the extractive
    backend answers from the passages directly)."""

    messages: list[ChatMessage]
    question: str
    passages: list[Passage] = field(default_factory=list)
    language: Language = "en"
    # Words a follow-up takes from the turns it refers to (condense.py): they tell which
    # passage it is about, not what it asks, so they weigh less than the question's own.
    borrowed: tuple[str, ...] = ()
