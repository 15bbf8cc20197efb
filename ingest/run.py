"""Running the worker as a process of its own (`zhiku worker`, `python -m ingest worker`)."""

from __future__ import annotations

import logging
import signal
import threading

from core.logging_setup import configure_logging
from core.ownership import own_data_dir
from core.queue import queue_key
from core.settings import Settings
from ingest.engine import Engine

log = logging.getLogger("zhiku.worker")


def run_worker(settings: Settings) -> int:
    """Works until SIGTERM or SIGINT, then stops claiming, finishes the unit of work in hand
    (a parsed batch or an embedded slice, after which it holds no job) and exits 0. Embedded,
    it owns the data directory; with a Chroma server, any number of workers run at once."""
    configure_logging(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with own_data_dir(settings, role="worker") as owner:
        engine = Engine(settings)
        engine.start_worker(sole_owner=owner)
        log.info(
            "worker %s started (queue: %s, vector store: %s)",
            engine.worker.name,
            queue_key(settings),
            settings.vector_store,
        )
        stop.wait()
        log.info("stopping: no new jobs are claimed; the work in hand finishes first")
        engine.stop()
        log.info("worker %s stopped", engine.worker.name)
    return 0


def run_check(settings: Settings, only: str | None) -> int:
    """Print one line per collection; exit 0 when everything agreed or was repaired."""
    from ingest.repair import check_collection

    with own_data_dir(settings, role="check"):
        engine = Engine(settings)
        try:
            names = [only] if only else [c.name for c in engine.catalog.list_collections()]
            for name in names:
                report = check_collection(engine, engine.catalog.get_collection(name))
                state = "consistent" if report.consistent else "repaired"
                print(
                    f"{report.collection}: {state}; {report.chunks} chunks;"
                    f" vectors +{report.vectors_restored} -{report.vectors_removed};"
                    f" lexical +{report.lexical_restored} -{report.lexical_removed}"
                )
        finally:
            engine.stop()
    return 0
