"""Running the worker as a process of its own (`zhiku worker`, `python -m ingest worker`)."""

from __future__ import annotations

import logging
import signal
import threading

from core.logging_setup import configure_logging
from core.ownership import own_data_dir
from core.queue import WAKE_QUEUES
from core.resources import Resources
from core.settings import Settings
from ingest.lifecycle import WorkerThread
from ingest.operations import Operations

log = logging.getLogger("zhiku.worker")


def run_worker(settings: Settings) -> int:
    """Works until SIGTERM or SIGINT, then stops claiming, gives the parses in hand back at
    once (they continue from their checkpoints elsewhere), finishes an embedding slice in hand
    (after which it holds no job) and exits 0. Embedded,
    it owns the data directory; with a Chroma server, any number of workers run at once."""
    configure_logging(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with own_data_dir(settings, role="worker") as owner, Resources(settings) as resources:
        worker = WorkerThread(resources, Operations(resources))
        worker.start(sole_owner=owner)
        name = worker.worker.name
        log.info(
            "worker %s started (queue: %s, vector store: %s)",
            name,
            WAKE_QUEUES.key(settings),
            settings.vector_store,
        )
        stop.wait()
        log.info("stopping: no new jobs are claimed; parses go back to the queue")
        worker.stop()
        log.info("worker %s stopped", name)
    return 0
