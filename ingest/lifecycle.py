"""The ingestion worker's life in a process: its parser processes, its wake-ups and its thread,
started and stopped together by `zhiku serve`, `zhiku worker` and `zhiku add --wait`."""

from __future__ import annotations

import threading

from core.resources import Resources
from ingest.operations import Operations
from ingest.parse import ParsePool
from ingest.worker import Worker


class WorkerThread:
    def __init__(self, resources: Resources, operations: Operations) -> None:
        self._resources = resources
        self.parse_pool = ParsePool(resources.settings, resources.settings.parse_processes)
        self.worker = Worker(resources, operations, self.parse_pool)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, sole_owner: bool) -> None:
        """The sole owner of an embedded data directory knows no other worker is alive, so jobs
        left running by a crash restart at once instead of after their lease runs out."""
        if sole_owner:
            self._resources.catalog.release_running_jobs()
        self.parse_pool.start()
        self._resources.queue.listen(self.worker.wake)
        self._thread = threading.Thread(
            target=self.worker.run, args=(self._stop,), name="zhiku-worker"
        )
        self._thread.start()

    def stop(self) -> None:
        """Stops claiming and finishes the unit of work in hand first; the resources stay open
        for their owner to close."""
        self._stop.set()
        self.worker.wake()
        if self._thread is not None:
            self._thread.join()
        self.parse_pool.close()

    @property
    def state(self) -> str:
        """`ok` while the thread runs, `stopped` once it died or was stopped."""
        return "ok" if self._thread is not None and self._thread.is_alive() else "stopped"
