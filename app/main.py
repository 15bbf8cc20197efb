"""The app factory and its lifespan: the service owns the embedded data directory and runs
the ingestion worker in a thread of its own process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app.auth import require_api_key
from app.errors import install_error_handlers
from app.routes import chat, collections, documents, health, jobs, openai_compat, query
from core.answer.prompt import DEFAULT_SYSTEM
from core.answer.retrieve import HybridRetriever
from core.answer.service import AnswerService
from core.catalog.conversations import SqliteConversations
from core.llm import LLMS
from core.ownership import DataDirOwnership
from core.search import Searcher
from core.settings import Settings, get_settings
from ingest.engine import Engine


def create_app(given: Settings | None = None) -> FastAPI:
    """Settings are read when the app starts, not when it is built, so importing this module
    for `uvicorn app.main:app` reads no environment."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = given or get_settings()
        app.state.settings = settings
        url = f"http://{settings.host}:{settings.port}"
        with DataDirOwnership(settings.data_dir, role="service", url=url):
            engine = Engine(settings)
            engine.start_worker(sole_owner=True)
            app.state.engine = engine
            retriever = HybridRetriever(Searcher(engine.catalog, engine.store, engine.embedder))
            llm = LLMS.create(settings.llm_backend, settings)
            app.state.conversations = SqliteConversations(engine.catalog)
            app.state.answers = AnswerService(
                engine.catalog, retriever, llm, settings.prompt_system or DEFAULT_SYSTEM
            )
            try:
                yield
            finally:
                await llm.aclose()
                retriever.close()
                engine.stop()

    app = FastAPI(title="Zhiku 知库", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(health.router)
    for module in (collections, documents, jobs, query, chat, openai_compat):
        app.include_router(module.router, dependencies=[Depends(require_api_key)])
    return app


app = create_app()
