"""The answer service and what it needs (retriever, LLM backend), built once from settings for
the HTTP service and for `zhiku ask` / `zhiku eval` run without one."""

from __future__ import annotations

from core.answer.prompt import DEFAULT_SYSTEM
from core.answer.rerank import open_reranker
from core.answer.retrieve import HybridRetriever
from core.answer.service import AnswerService
from core.llm import LLMS
from core.search import Searcher
from core.settings import Settings
from ingest.engine import Engine


class Answering:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._retriever = HybridRetriever(
            Searcher(engine.catalog, engine.store, engine.embedder),
            open_reranker(settings),
            settings.rerank_candidates,
        )
        self._llm = LLMS.create(settings.llm_backend, settings)
        self.service = AnswerService(
            engine.catalog,
            self._retriever,
            self._llm,
            settings.prompt_system or DEFAULT_SYSTEM,
            settings.query_expansion,
        )

    async def aclose(self) -> None:
        await self._llm.aclose()
        self._retriever.close()
