"""One process's worth of Zhiku as the service assembles it (its resources, the operations over
them, and a worker thread not yet started), for tests that drive the worker by hand."""

from __future__ import annotations

from pathlib import Path

from core.catalog import Catalog
from core.catalog.records import Collection
from core.embedding import Embedder
from core.resources import Resources
from core.settings import Settings
from core.stores.protocol import VectorStore
from ingest.intake import AddResult
from ingest.lifecycle import WorkerThread
from ingest.operations import Operations
from ingest.parse import ParsePool
from ingest.worker import Worker


class Node:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.resources = Resources(settings, embedder)
        self.catalog: Catalog = self.resources.catalog
        self.operations = Operations(self.resources)
        self.worker_thread = WorkerThread(self.resources, self.operations)
        self.worker: Worker = self.worker_thread.worker
        self.parse_pool: ParsePool = self.worker_thread.parse_pool

    @property
    def store(self) -> VectorStore:
        """Opened on first use, as in the service."""
        return self.resources.store

    @property
    def embedder(self) -> Embedder:
        return self.resources.embedder

    def start_worker(self, sole_owner: bool) -> None:
        self.worker_thread.start(sole_owner)

    def add_bytes(self, collection: Collection, filename: str, data: bytes) -> AddResult:
        return self.operations.add_files(collection, [(filename, data)])[0]

    def add_path(self, collection: Collection, path: Path) -> AddResult:
        return self.operations.add_paths(collection, [path])[0]

    def stop(self) -> None:
        self.worker_thread.stop()
        self.resources.close()
