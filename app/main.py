"""The app factory and its lifespan: embedded, the service owns the data directory and runs
the ingestion worker in a thread of its own process; with servers (ZHIKU_CHROMA_URL,
ZHIKU_QUEUE_URL) replicas share the data and `zhiku worker` processes ingest."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app.answering import Answering
from app.auth import require_api_key
from app.errors import install_error_handlers
from app.metrics import install_metrics
from app.request_id import install_request_ids
from app.routes import chat, collections, documents, health, jobs, openai_compat, query
from app.routes.page import install_web_page
from core.ownership import own_data_dir
from core.settings import Settings, get_settings
from ingest.engine import Engine

log = logging.getLogger("zhiku.service")


def create_app(given: Settings | None = None) -> FastAPI:
    """Settings are read when the app starts, not when it is built, so importing this module
    for `uvicorn app.main:app` reads no environment."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = given or get_settings()
        app.state.settings = settings
        url = f"http://{settings.host}:{settings.port}"
        with own_data_dir(settings, role="service", url=url) as owner:
            engine = Engine(settings)
            if settings.runs_worker_in_service:
                engine.start_worker(sole_owner=owner)
            # Load the model (and make its export for queries) now, not on the first question.
            threading.Thread(target=engine.embedder.warm_up, daemon=True).start()
            if owner and not settings.runs_worker_in_service:
                log.warning(
                    "no worker runs in the service and embedded Chroma allows no other process:"
                    " documents will wait; set ZHIKU_SERVE_WORKER=true or ZHIKU_CHROMA_URL"
                )
            app.state.engine = engine
            answering = Answering(settings, engine)
            app.state.conversations = engine.catalog.conversations()
            app.state.answers = answering.service
            try:
                yield
            finally:
                await answering.aclose()
                engine.stop()

    app = FastAPI(title="Zhiku 知库", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    install_metrics(app)
    # Added last, so it runs first: every log line of a request, metrics' included, has its id.
    install_request_ids(app)
    app.include_router(health.router)
    for module in (collections, documents, jobs, query, chat, openai_compat):
        app.include_router(module.router, dependencies=[Depends(require_api_key)])
    install_web_page(app)
    return app


app = create_app()
