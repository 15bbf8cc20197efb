"""The two stages of a document: parse (load, split, lexical index: searchable in seconds) and
embed (vectors into the catalog, then the vector store: ready)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

import numpy as np

from core.blobs import BlobStore
from core.catalog import LeaseLost, SqliteCatalog
from core.catalog.records import Job
from core.embedder import Embedder
from core.errors import LoadError
from core.lexical_tokens import lexical_tokens
from core.settings import Settings
from core.stores.protocol import VectorMeta, VectorStore
from ingest.loaders import LOADERS
from ingest.split import Splitter

# Texts per encode call: large enough to keep the model busy, small enough to checkpoint often.
EMBED_BATCH = 256
_PROGRESS_EVERY_S = 0.5


def lexical_text(heading_path: Sequence[str], text: str) -> str:
    """What the lexical index sees of a chunk: its headings carry words its text may lack."""
    return " ".join(lexical_tokens("\n".join((*heading_path, text))))


def text_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        catalog: SqliteCatalog,
        blobs: BlobStore,
        embedder: Embedder,
        store: VectorStore,
    ) -> None:
        self._settings = settings
        self._catalog = catalog
        self._blobs = blobs
        self._embedder = embedder
        self._store = store

    def _splitter(self, chunk_tokens: int, overlap_tokens: int) -> Splitter:
        return Splitter(
            self._embedder.count_tokens,
            self._embedder.token_spans,
            chunk_tokens,
            overlap_tokens,
            self._embedder.max_tokens,
        )

    def parse(self, job: Job, worker: str) -> None:
        """Raises LoadError (or UnsupportedMedia) for bad bytes, LeaseLost when the job was
        taken away; writes nothing in either case."""
        collection = self._catalog.collection_by_id(job.collection_id)
        document = self._catalog.get_document(job.collection_id, job.document_id)
        data = self._blobs.get(document.id)
        last = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= _PROGRESS_EVERY_S or done == total:
                last = now
                self._catalog.set_page_progress(job.id, worker, done, total)

        loaded = LOADERS.create(document.media_type).load(data, progress)
        splitter = self._splitter(collection.chunk_tokens, collection.chunk_overlap_tokens)
        drafts = splitter.split(loaded)
        if not drafts:
            raise LoadError("no text to index: the document is empty once read")
        self._catalog.store_parsed(
            job.id,
            worker,
            loaded.pages,
            drafts,
            [lexical_text(d.heading_path, d.text) for d in drafts],
            [text_hash(d.text) for d in drafts],
        )

    def embed(self, jobs: Sequence[Job], worker: str) -> None:
        """Embed the chunks these jobs still lack, each distinct text once and longest first
        in shared batches, checkpointing vectors in the catalog; then copy each document's
        vectors to the vector store and mark it ready."""
        job_ids = [j.id for j in jobs]
        model = self._embedder.model_id
        pending = self._catalog.chunks_without_vectors(job_ids)
        rows_by_hash: dict[bytes, list[int]] = {}
        text_by_hash: dict[bytes, str] = {}
        for rowid, text, digest in pending:
            rows_by_hash.setdefault(digest, []).append(rowid)
            text_by_hash[digest] = text
        known = self._catalog.vectors_by_text(model, list(rows_by_hash))
        if known:
            self._catalog.store_vectors(
                worker, job_ids, [(r, known[h]) for h in known for r in rows_by_hash[h]]
            )
        todo = sorted(
            (h for h in rows_by_hash if h not in known), key=lambda h: -len(text_by_hash[h])
        )
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start : start + EMBED_BATCH]
            vectors = self._embedder.embed([text_by_hash[h] for h in batch]).astype(np.float16)
            self._catalog.store_vectors(
                worker,
                job_ids,
                [
                    (r, v.tobytes())
                    for h, v in zip(batch, vectors, strict=True)
                    for r in rows_by_hash[h]
                ],
            )
        for job in jobs:
            try:
                publish(self._catalog, self._store, job.collection_id, job.document_id, model)
                self._catalog.mark_ready(job.id, worker)
            except LeaseLost:
                if not self._catalog.document_exists(job.collection_id, job.document_id):
                    # Deleted while we embedded: take back what was just published.
                    self._store.delete_document(job.collection_id, job.document_id)


def publish(
    catalog: SqliteCatalog, store: VectorStore, collection_id: str, document_id: str, model: str
) -> int:
    """Copy a document's vectors from the catalog to the vector store (idempotent: by id)."""
    rows = catalog.document_vectors(collection_id, document_id)
    store.ensure_collection(collection_id, model)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16)
    store.upsert(
        collection_id,
        [r[0] for r in rows],
        vectors.reshape(len(rows), -1).astype(np.float32),
        [VectorMeta(document_id=document_id, page=r[2], seq=r[3]) for r in rows],
    )
    return len(rows)
