"""Everything one process needs to take in and process documents, built once from settings."""

from __future__ import annotations

import threading
from functools import cached_property

from core.blobs import BlobStore
from core.catalog import Catalog, open_catalog
from core.catalog.records import Document
from core.embedder import Embedder
from core.queue import open_queue
from core.settings import Settings
from core.stores import open_vector_store
from core.stores.protocol import VectorStore
from ingest.intake import Intake
from ingest.parse import ParsePool
from ingest.pipeline import Pipeline
from ingest.worker import Worker


class Engine:
    """The catalog and blobs open at once (cheap: enough to enqueue); the embedding model and
    the vector store only when first needed, since only the data directory's owner may open
    embedded Chroma."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        if embedder is not None:
            # One loaded model can serve several engines (tests, benchmarks).
            self.__dict__["embedder"] = embedder
        self.catalog: Catalog = open_catalog(settings)
        self.blobs = BlobStore(settings.blob_path)
        # Cheap too: a Redis queue connects on first use.
        self.queue = open_queue(settings)
        self.intake = Intake(settings, self.catalog, self.blobs, self.queue.notify)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings)

    @cached_property
    def store(self) -> VectorStore:
        return open_vector_store(self.settings)

    @cached_property
    def parse_pool(self) -> ParsePool:
        return ParsePool(self.settings, self.settings.parse_processes)

    @cached_property
    def worker(self) -> Worker:
        def store() -> VectorStore:
            return self.store

        pipeline = Pipeline(self.settings, self.catalog, self.blobs, self.embedder, store)
        return Worker(self.settings, self.catalog, pipeline, self.parse_pool, store)

    def start_worker(self, sole_owner: bool) -> None:
        """Run the worker in a thread. The sole owner of an embedded data directory knows no
        other worker is alive, so jobs left running by a crash restart at once instead of
        after their lease runs out."""
        if sole_owner:
            self.catalog.release_running_jobs()
        self.parse_pool.start()
        self.queue.listen(self.worker.wake)
        run = threading.Thread(target=self.worker.run, args=(self._stop,), name="zhiku-worker")
        self._threads = [run]
        run.start()

    def wake(self) -> None:
        """Tell the workers, in this process or any other, that jobs were committed."""
        self.queue.notify()

    def stop(self) -> None:
        """The worker stops claiming and finishes the unit of work in hand first."""
        self._stop.set()
        if "worker" in self.__dict__:
            self.worker.wake()
        for thread in self._threads:
            thread.join()
        self._threads = []
        self.queue.close()
        if "parse_pool" in self.__dict__:
            self.parse_pool.close()
        if "store" in self.__dict__:
            self.store.close()
        self.catalog.close()

    def delete_document(self, collection_id: str, document_id: str) -> Document:
        """Catalog first (the document disappears from queries at once), then vectors, then the
        file when no other collection holds the same bytes."""
        document = self.catalog.delete_document(collection_id, document_id)
        self.store.delete_document(collection_id, document_id)
        if self.catalog.document_references(document_id) == 0:
            self.blobs.delete(document_id)
        return document

    def delete_collection(self, name: str) -> None:
        """Everything of it: catalog rows, vectors, and the files no other collection holds."""
        collection = self.catalog.get_collection(name)
        document_ids = [d.id for d in self.catalog.list_documents(collection.id)]
        self.catalog.delete_collection(name)
        self.store.drop_collection(collection.id)
        for document_id in document_ids:
            if self.catalog.document_references(document_id) == 0:
                self.blobs.delete(document_id)

    @property
    def worker_state(self) -> str | None:
        """`ok` while the in-process worker runs, `stopped` if it died; None without one."""
        if not self._threads:
            return None
        return "ok" if all(t.is_alive() for t in self._threads) else "stopped"
