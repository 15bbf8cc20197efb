"""The offline default: answers with the retrieved sentences that best cover the question,
each cited, as quotes.py makes them readable. No model, no network; `backend` says so."""

from __future__ import annotations

from collections.abc import AsyncIterator

from core.answer.abstain import should_abstain
from core.answer.cite import MARKER
from core.answer.extract import across_picks, best_sentences, chosen, evidence
from core.answer.prompt import NOT_FOUND
from core.answer.quotes import as_text
from core.answer.vocabulary import Prompt
from core.retrieval.language import passage_language
from core.settings import Settings


class ExtractiveLLM:
    generative = False
    backend = "extractive"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def stream(self, prompt: Prompt) -> AsyncIterator[str]:
        picks = best_sentences(prompt)
        if not picks or should_abstain(evidence(prompt, picks), prompt.language):
            # A passage in the other language: what it says first, cited.
            picks = across_picks(prompt) or picks
        if not picks:
            yield NOT_FOUND[prompt.language]
            return
        quoted_picks = sorted(chosen(picks), key=lambda p: (p.rank, p.position))
        # Sentences are joined as their own language writes them, whatever the question's.
        joiner = "" if passage_language(" ".join(p.text for p in quoted_picks)) == "zh" else " "
        for i, pick in enumerate(quoted_picks):
            # A document's own footnote markers ("founded in 1998.[3]") would read as
            # citations of other passages: only the passage's own number cites.
            quoted = MARKER.sub("", pick.text)
            # One delta a sentence, as a generative backend streams; each sentence is one line
            # (quotes.py) and only the first starts one, where Markdown would read a "# " of
            # the document as a heading.
            yield f"{joiner}{quoted} [{pick.n}]" if i else f"{as_text(quoted)} [{pick.n}]"

    async def aclose(self) -> None:
        return None
