"""The answer is filtered before anyone sees it, streamed or not: links and images only to where
the passages lead (links.py), no recitation of the system prompt (leak.py), and the content
safety lists (core/content_safety.py). Each stage holds back only the text it has not decided
yet, so a stream still streams, and a construct split across deltas is judged whole."""

from __future__ import annotations

from collections.abc import Sequence

from core.answer.instructions import withhold_instructions
from core.answer.leak import PromptGuard
from core.answer.links import Allowed, LinkFilter, undecided_from
from core.answer.prompt import NOT_FOUND
from core.answer.vocabulary import Passage, Prompt
from core.content_safety import AnswerScreen
from core.telemetry import ANSWER_FILTERED


def passages_text(passages: Sequence[Passage]) -> str:
    """What the passages say, as the model read them: an instruction sentence was withheld
    from it, so an address planted in one leads nowhere. Their file names are the uploader's,
    not the document's."""
    return "\n".join(withhold_instructions(p.chunk.text) for p in passages)


class _StreamedLinks:
    def __init__(self, links: LinkFilter) -> None:
        self._links = links
        self._held = ""

    def feed(self, text: str) -> str:
        held = self._held + text
        cut = undecided_from(held)
        self._held = held[cut:]
        return self._links.apply(held[:cut])

    def close(self) -> str:
        held, self._held = self._held, ""
        return self._links.apply(held)


class OutputFilter:
    """One answer's filter chain. While streaming, links are judged against every passage the
    model was given (which ones it cites is known only at the end); `final` then holds the
    whole answer to the passages it cites."""

    def __init__(self, prompt: Prompt, screen: AnswerScreen | None) -> None:
        self._numbers = {p.n for p in prompt.passages}
        self._links = LinkFilter(Allowed(passages_text(prompt.passages)), self._numbers)
        system = next((m.content for m in prompt.messages if m.role == "system"), "")
        spoken = [
            *NOT_FOUND.values(),
            *(withhold_instructions(p.chunk.text) for p in prompt.passages),
        ]
        self._guard = PromptGuard(system, spoken, prompt.language)
        self._streamed_links = _StreamedLinks(self._links)
        self._screen = screen
        self._closed = False

    @property
    def withheld(self) -> bool:
        return self._screen is not None and self._screen.withheld

    def feed(self, delta: str) -> str:
        text = self._guard.feed(self._streamed_links.feed(delta))
        return self._screen.feed(text) if self._screen is not None else text

    def close(self) -> str:
        """The text held back at the end of the answer; metrics are counted once, here."""
        text = self._guard.feed(self._streamed_links.close()) + self._guard.close()
        if self._screen is not None:
            text = self._screen.feed(text) + self._screen.close()
        if not self._closed:
            self._closed = True
            for what, count in self._links.removed.items():
                ANSWER_FILTERED.labels(what).inc(count)
            if self._guard.removed:
                ANSWER_FILTERED.labels("prompt").inc(self._guard.removed)
        return text

    def final(self, text: str, cited: Sequence[Passage]) -> str:
        """The whole answer held to the passages it cites."""
        strict = LinkFilter(Allowed(passages_text(cited)), self._numbers)
        text = strict.apply(text)
        for what, count in strict.removed.items():
            ANSWER_FILTERED.labels(what).inc(count)
        return text
