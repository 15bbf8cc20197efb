"""One question, answered: retrieve, decide whether the passages can answer, prompt the
backend, then verify the citations of what it wrote."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial

from prometheus_client import Histogram

from core.answer.abstain import ABSTAIN_THRESHOLD, should_abstain, should_abstain_across
from core.answer.cite import Citation, verify_citations
from core.answer.condense import Resolved, resolve
from core.answer.expand import expand_query
from core.answer.extract import best_sentences
from core.answer.output_filter import OutputFilter
from core.answer.prompt import NOT_FOUND, build_prompt
from core.answer.quotes import running_lines
from core.answer.vocabulary import ChatMessage, Passage, Prompt
from core.catalog import Catalog
from core.catalog.records import Collection
from core.content_safety import WITHHELD, ContentSafety
from core.llm.protocol import LLM
from core.retrieval.fuse import FusedChunk
from core.retrieval.language import passage_language
from core.retrieval.retrieve import HybridRetriever, Retrieval
from core.telemetry import GENERATION_SECONDS, RETRIEVAL_SECONDS


@dataclass
class Prepared:
    collection: Collection
    retrieval: Retrieval
    passages: list[Passage]
    prompt: Prompt
    evidence: float
    abstain: bool
    timings: dict[str, float] = field(default_factory=dict)
    output: OutputFilter | None = None
    """The filter the answer went through, once generation began."""


@dataclass(frozen=True)
class Answer:
    text: str
    abstained: bool
    citations: list[Citation]
    chunks: list[FusedChunk]
    passages: list[Passage]
    backend: str
    timings: dict[str, float]
    evidence: float
    """The score the decision to abstain compared with the threshold (Prepared.evidence)."""


def _observed(histogram: Histogram, since: float) -> float:
    """Milliseconds since `since`, also recorded in the histogram (in seconds)."""
    seconds = time.perf_counter() - since
    histogram.observe(seconds)
    return round(seconds * 1000, 1)


class AnswerService:
    def __init__(
        self,
        catalog: Catalog,
        retriever: HybridRetriever,
        llm: LLM,
        system_template: str,
        expansion: str = "none",
        safety: ContentSafety | None = None,
    ) -> None:
        self._catalog = catalog
        self._retriever = retriever
        self.llm = llm
        self._system = system_template
        self._expansion = expansion
        self._safety = safety
        # A document's chunks never change under its id (the hash of its bytes), so neither do
        # its running lines; reading them is a pass over all its chunks, once.
        self._running = lru_cache(maxsize=64)(self._running_lines)

    def screen_question(self, collection: Collection, *questions: str) -> None:
        """Raises ContentRefused when a question (the new one, and those a client sends as the
        history) holds a listed term; routes call it before any retrieval or model call."""
        if self._safety is not None:
            self._safety.screen_question(collection.name, "\n".join(questions))

    async def prepare_async(
        self,
        collection: Collection,
        question: str,
        top_k: int,
        document_ids: Sequence[str] | None = None,
        history: Sequence[ChatMessage] = (),
        *,
        search: str | None = None,
        borrowed: Sequence[str] = (),
    ) -> Prepared:
        """`prepare`, after asking the backend to expand the question when configured;
        retrieval runs in a thread, off the event loop."""
        started = time.perf_counter()
        expansions = await expand_query(self.llm, search or question, self._expansion)
        expand_ms = round((time.perf_counter() - started) * 1000, 1)
        prepared = await asyncio.to_thread(
            partial(self.prepare, search=search, borrowed=borrowed),
            collection,
            question,
            top_k,
            document_ids,
            history,
            expansions,
        )
        if expansions:
            prepared.timings["expand_ms"] = expand_ms
        return prepared

    async def prepare_turn(
        self,
        collection: Collection,
        history: Sequence[ChatMessage],
        question: str,
        top_k: int,
        document_ids: Sequence[str] | None = None,
    ) -> tuple[Resolved, Prepared]:
        """A chat turn: the question resolved from the conversation when it is a follow-up
        (condense.py), then prepared."""
        resolved = await resolve(self.llm, history, question)
        prepared = await self.prepare_async(
            collection,
            resolved.question,
            top_k,
            document_ids,
            resolved.history,
            search=resolved.search,
            borrowed=resolved.borrowed,
        )
        return resolved, prepared

    def prepare(
        self,
        collection: Collection,
        question: str,
        top_k: int,
        document_ids: Sequence[str] | None = None,
        history: Sequence[ChatMessage] = (),
        expansions: Sequence[str] = (),
        *,
        search: str | None = None,
        borrowed: Sequence[str] = (),
    ) -> Prepared:
        """`search` (the question by default) is what retrieval looks for; the answer and its
        evidence are judged against `question`, with `borrowed` words weighing less."""
        started = time.perf_counter()
        retrieval = self._retriever.retrieve(
            collection, search or question, top_k, document_ids, expansions=expansions
        )
        names = {
            d: self._catalog.get_document(collection.id, d).filename
            for d in {f.chunk.document_id for f in retrieval.chunks}
        }
        passages = [
            Passage(
                n,
                f.chunk,
                names[f.chunk.document_id],
                frozenset()
                if f.chunk.page is None
                else self._running(collection.id, f.chunk.document_id),
            )
            for n, f in enumerate(retrieval.chunks, start=1)
        ]
        prompt = build_prompt(
            question, passages, retrieval.language, self._system, history, borrowed
        )
        picks = best_sentences(prompt)
        evidence = picks[0].coverage if picks else 0.0
        abstain = should_abstain(
            evidence, retrieval.language, collection.settings.get(ABSTAIN_THRESHOLD)
        )
        across = next(
            (f for f in retrieval.chunks if passage_language(f.chunk.text) != retrieval.language),
            None,
        )
        if abstain and across is not None:
            # No word of the question can be in a passage of the other language: the dense
            # side's confidence in the best of them is the evidence.
            abstain = should_abstain_across(across.dense_score, retrieval.language)
        return Prepared(
            collection,
            retrieval,
            passages,
            prompt,
            evidence,
            abstain,
            {"retrieve_ms": _observed(RETRIEVAL_SECONDS, started)},
        )

    def _running_lines(self, collection_id: str, document_id: str) -> frozenset[str]:
        return running_lines(self._catalog.document_chunks(collection_id, document_id))

    async def generate(self, prepared: Prepared) -> AsyncIterator[str]:
        """The answer's text deltas, filtered (output_filter.py); the not-found message when
        the passages cannot answer."""
        if prepared.abstain:
            yield NOT_FOUND[prepared.retrieval.language]
            return
        screen = (
            self._safety.answer_screen(prepared.collection.name, prepared.retrieval.language)
            if self._safety is not None
            else None
        )
        output = prepared.output = OutputFilter(prepared.prompt, screen)
        async for delta in self.llm.stream(prepared.prompt):
            text = output.feed(delta)
            if text:
                yield text
            if output.withheld:
                output.close()
                return  # the rest is not needed: closing the stream stops the model
        rest = output.close()
        if rest:
            yield rest

    def finish(self, prepared: Prepared, text: str, generate_started: float) -> Answer:
        cleaned, citations = verify_citations(text, prepared.passages)
        output = prepared.output
        if output is not None and output.withheld:
            cleaned, citations = WITHHELD[prepared.retrieval.language], []
        elif output is not None:
            cited = {c.n for c in citations}
            cleaned = output.final(cleaned, [p for p in prepared.passages if p.n in cited])
        not_found = NOT_FOUND[prepared.retrieval.language]
        abstained = prepared.abstain or (not citations and not_found.rstrip("。.") in cleaned)
        prepared.timings["generate_ms"] = _observed(GENERATION_SECONDS, generate_started)
        return Answer(
            cleaned.strip(),
            abstained,
            [] if abstained else citations,
            prepared.retrieval.chunks,
            prepared.passages,
            self.llm.backend,
            prepared.timings,
            prepared.evidence,
        )

    async def answer(self, prepared: Prepared) -> Answer:
        started = time.perf_counter()
        parts = [delta async for delta in self.generate(prepared)]
        return self.finish(prepared, "".join(parts), started)
