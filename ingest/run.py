"""Running the worker as a process of its own (`zhiku worker`, `python -m ingest worker`)."""

from __future__ import annotations

import logging
import signal
import threading

from core.ownership import DataDirOwnership
from core.settings import Settings
from ingest.engine import Engine

log = logging.getLogger("zhiku.worker")


def run_worker(settings: Settings) -> int:
    """Owns the embedded data directory and works until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with DataDirOwnership(settings.data_dir, role="worker"):
        engine = Engine(settings)
        engine.start_worker(sole_owner=True)
        log.info("worker %s started on %s", engine.worker.name, settings.data_dir)
        stop.wait()
        log.info("stopping: the current unit of work finishes first")
        engine.stop()
    return 0


def run_check(settings: Settings, only: str | None) -> int:
    """Print one line per collection; exit 0 when everything agreed or was repaired."""
    from ingest.repair import check_collection

    with DataDirOwnership(settings.data_dir, role="check"):
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
