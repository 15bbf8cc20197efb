"""The ingestion worker's life in a process: its parser processes, its wake-ups and its thread,
started and stopped together by `zhiku serve`, `zhiku worker` and `zhiku add --wait`."""

from __future__ import annotations

import threading
import time

from core.resources import Resources
from ingest.operations import Operations
from ingest.parse import ParsePool
from ingest.reembed import Reembedder
from ingest.worker import Worker


class WorkerThread:
    def __init__(self, resources: Resources, operations: Operations) -> None:
        self._resources = resources
        self.parse_pool = ParsePool(resources.settings, resources.settings.parse_processes)
        self.worker = Worker(resources, operations, self.parse_pool)
        self.reembedder = Reembedder(resources, self.worker.name)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reembed_thread: threading.Thread | None = None

    def start(self, sole_owner: bool) -> None:
        """The sole owner of an embedded data directory knows no other worker is alive, so jobs
        left running by a crash restart at once instead of after their lease runs out."""
        if sole_owner:
            self._resources.catalog.release_running_jobs()
            self._resources.catalog.release_reembeds()
        self.parse_pool.start()
        self._resources.queue.listen(self.worker.wake)
        self._thread = threading.Thread(
            target=self.worker.run, args=(self._stop,), name="zhiku-worker"
        )
        self._thread.start()
        # Re-embeddings (ingest/reembed.py) beside ingestion, which they never hold up.
        self._reembed_thread = threading.Thread(
            target=self.reembedder.run, args=(self._stop,), name="zhiku-reembed"
        )
        self._reembed_thread.start()

    def stop(self) -> None:
        """Stops claiming, cuts the parses in hand short (their jobs go back to the queue at
        once, uncharged, and continue from their checkpoints) and finishes an embedding slice
        in hand; the resources stay open for their owner to close."""
        self._stop.set()
        self.parse_pool.interrupt()
        self.worker.wake()
        if self._thread is not None:
            self._thread.join()
        if self._reembed_thread is not None:
            self._reembed_thread.join()
        self.parse_pool.close()

    @property
    def state(self) -> str:
        """`ok` while the thread runs and its loop comes round; `stopped` once it died or was
        stopped; `stalled: ...` when its loop has not come round for worker_stall_seconds."""
        if self._thread is None or not self._thread.is_alive():
            return "stopped"
        idle = time.monotonic() - self.worker.ticked_at
        if idle > self._resources.settings.worker_stall_seconds:
            return f"stalled: the worker has made no progress for {idle:.0f} s"
        return "ok"
