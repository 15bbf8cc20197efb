"""The answer service assembled from settings and the opened resources (retriever, reranker,
LLM backend), for the HTTP service and for `zhiku ask` / `zhiku eval` run without one."""

from __future__ import annotations

from core.answer.prompt import DEFAULT_SYSTEM
from core.answer.service import AnswerService
from core.content_safety import ContentSafety
from core.llm import LLMS
from core.resources import Resources
from core.retrieval.rerank import open_reranker
from core.retrieval.retrieve import HybridRetriever
from core.retrieval.search import Searcher
from core.settings import Settings


class Answering:
    def __init__(self, settings: Settings, resources: Resources) -> None:
        """`settings` may differ from the resources' in what only answering reads (reranking,
        the LLM backend, expansion)."""
        self._retriever = HybridRetriever(
            Searcher(
                resources.catalog, resources.store, resources.embedder, resources.embedder_for
            ),
            open_reranker(settings),
            settings.rerank_candidates,
            settings.retrieval_mode,
        )
        self._llm = LLMS.open(settings)
        self.service = AnswerService(
            resources.catalog,
            self._retriever,
            self._llm,
            settings.prompt_system or DEFAULT_SYSTEM,
            settings.query_expansion,
            # Lists are read once, here, at start.
            ContentSafety.from_settings(settings),
        )

    async def aclose(self) -> None:
        await self._llm.aclose()
        self._retriever.close()
