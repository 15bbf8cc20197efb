"""The parts one process opens from settings (catalog, blobs, wake-up queue, vector store,
embedder), opened and closed in this one place for the service, the worker and the CLI."""

from __future__ import annotations

import threading
from functools import cached_property
from types import TracebackType

from core.blobs import BlobStore
from core.catalog import Catalog, open_catalog
from core.embedding import Embedder, open_embedder
from core.queue import open_queue
from core.queue.protocol import WakeQueue
from core.settings import Settings
from core.stores import open_vector_store
from core.stores.protocol import VectorStore


class Resources:
    """The catalog, blobs and queue open at once: cheap, and enough to enqueue (a Redis queue
    connects on first use). The embedding model and the vector store open when first used:
    importing chromadb takes about a second that parsing never needs, and only the data
    directory's owner may open embedded Chroma."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        if embedder is not None:
            # One loaded model can serve several processes' worth of parts (tests, benchmarks).
            self.__dict__["embedder"] = embedder
        self.catalog: Catalog = open_catalog(settings)
        self.blobs = BlobStore(settings.blob_path)
        self.queue: WakeQueue = open_queue(settings)
        # Embedders of models other than the settings' (collections re-embedded with another
        # model), opened on first use and kept: a model loads once per process.
        self._embedders: dict[str, Embedder] = {}
        self._embedders_lock = threading.Lock()

    @cached_property
    def embedder(self) -> Embedder:
        return open_embedder(self.settings)

    def embedder_for(self, model: str) -> Embedder:
        """The embedder of a collection's model. Loads nothing: each engine loads on first use."""
        if model == self.embedder.model_id:
            return self.embedder
        with self._embedders_lock:
            if model not in self._embedders:
                self._embedders[model] = self._open(model)
            return self._embedders[model]

    def can_open(self, model: str) -> bool:
        """Whether this process can embed with the model: its tokenizer loads (cheap). Only a
        model that opens is kept, so that names asked for in vain fill no memory."""
        if model == self.embedder.model_id or model in self._embedders:
            return True
        try:
            candidate = self._open(model)
            candidate.count_tokens(["知库 zhiku"])
        except Exception:  # each engine fails in its own way on a model it cannot find
            return False
        with self._embedders_lock:
            self._embedders.setdefault(model, candidate)
        return True

    def _open(self, model: str) -> Embedder:
        return open_embedder(self.settings.model_copy(update={"embedding_model": model}))

    @cached_property
    def store(self) -> VectorStore:
        return open_vector_store(self.settings)

    @property
    def store_opened(self) -> bool:
        return "store" in self.__dict__

    def close(self) -> None:
        """The queue first (no more wake-ups), the catalog last (others write to it until then)."""
        self.queue.close()
        if self.store_opened:
            self.store.close()
        self.catalog.close()

    def __enter__(self) -> Resources:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
