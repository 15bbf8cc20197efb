"""What an answer generator provides: a stream of text deltas for a prompt."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk as the prompt numbers it: `[n]` in an answer cites passage n."""

    n: int
    text: str
    document_id: str
    filename: str
    page: int | None
    heading_path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Prompt:
    """The chat messages an LLM sees, with the structure they were built from (the extractive
    backend answers from the passages directly)."""

    messages: list[ChatMessage]
    question: str
    passages: list[Passage] = field(default_factory=list)
    language: Literal["zh", "en"] = "en"


class LLM(Protocol):
    backend: str
    """A label for responses, e.g. "extractive" or "openai:qwen2.5-7b-instruct"."""
    generative: bool
    """Whether it writes free text (and can so rewrite a follow-up question); the extractive
    backend only quotes passages."""

    def stream(self, prompt: Prompt) -> AsyncIterator[str]:
        """Yield the answer as text deltas.

        Raises UpstreamFailed (the server answered with an error, or the stream broke) or
        UpstreamTimeout. Closing the iterator early (a client went away) stops the generation
        upstream."""
        ...

    async def aclose(self) -> None:
        """Release connections or models."""
        ...
