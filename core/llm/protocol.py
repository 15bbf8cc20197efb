"""What an answer generator provides: a stream of text deltas for a prompt."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from core.answer.vocabulary import Prompt


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
        """Release connections or models; safe to call more than once, and on a backend never
        used."""
        ...
