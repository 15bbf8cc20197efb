"""The app factory and its lifespan: embedded, the service owns the data directory and runs
the ingestion worker in a thread of its own process; with servers (ZHIKU_CHROMA_URL,
ZHIKU_QUEUE_URL) replicas share the data and `zhiku worker` processes ingest."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app.auth import principal
from app.body_limits import BodyLimits
from app.errors import install_error_handlers
from app.evaluation_runs import EvaluationRuns
from app.keyring import KeyRing, refuse_open_service
from app.metrics import install_metrics
from app.openapi_errors import PROTECTED, document_refusals, errors
from app.rate_limits import Counters, RequestLimits
from app.request_id import install_request_ids
from app.routes import (
    chat,
    collections,
    documents,
    evaluations,
    health,
    jobs,
    keys,
    openai_compat,
    query,
    reembed,
)
from app.routes.page import install_web_page
from core.answer.assembly import Answering
from core.logging_setup import configure_logging
from core.ownership import own_data_dir
from core.registry import url_scheme
from core.resources import Resources
from core.settings import Settings, get_settings
from ingest.lifecycle import WorkerThread
from ingest.operations import Operations

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
            resources = Resources(settings)
            operations = Operations(resources)
            worker = None
            if settings.runs_worker_in_service:
                worker = WorkerThread(resources, operations)
                worker.start(sole_owner=owner)
            elif owner:
                log.warning(
                    "no worker runs in the service and the embedded vector store allows no other"
                    " process: documents will wait; set ZHIKU_SERVE_WORKER=true or use a vector"
                    " store server (ZHIKU_CHROMA_URL, ZHIKU_MILVUS_URI)"
                )
            # Load the model (and make its export for queries) now, not on the first question.
            threading.Thread(target=resources.embedder.warm_up, daemon=True).start()
            answering = Answering(settings, resources)
            app.state.resources = resources
            app.state.operations = operations
            app.state.worker = worker
            app.state.answers = answering.service
            app.state.conversations = resources.catalog.conversations()
            app.state.keys = KeyRing(settings, resources.catalog)
            app.state.rate_counters = Counters.of(settings)
            runs = EvaluationRuns(settings, resources.catalog.evaluations(), answering.service)
            # A PostgreSQL catalog may be shared with other services: their runs end once stale.
            runs.recover(
                sole_owner=owner and url_scheme(settings.database_url, "sqlite") == "sqlite"
            )
            app.state.evaluations = runs
            try:
                yield
            finally:
                await runs.aclose()
                await app.state.rate_counters.aclose()
                await answering.aclose()
                if worker is not None:
                    worker.stop()
                resources.close()

    app = FastAPI(title="Zhiku 知库", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    # Inside metrics, so refusals are counted; the rate is checked before the body is read.
    app.add_middleware(BodyLimits)
    app.add_middleware(RequestLimits)
    install_metrics(app)
    # Added last, so it runs first: every log line of a request, metrics' included, has its id.
    install_request_ids(app)
    app.include_router(health.router)
    # Every /api and /v1 route resolves the caller, even one that reads no scope.
    for module in (
        collections,
        reembed,
        documents,
        evaluations,
        jobs,
        query,
        chat,
        openai_compat,
        keys,
    ):
        document_refusals(module.router)
        app.include_router(
            module.router, dependencies=[Depends(principal)], responses=errors(*PROTECTED)
        )
    install_web_page(app)
    return app


app = create_app()


def serve(settings: Settings) -> None:
    """`zhiku serve` and `python -m app`: the service on ZHIKU_HOST:ZHIKU_PORT."""
    import uvicorn

    configure_logging(settings)
    # Before binding: a service that would be open to anyone does not start.
    refuse_open_service(settings)
    # log_config=None: uvicorn's own loggers go through the format set above.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)
