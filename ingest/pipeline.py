"""After parsing: storing a parsed document (searchable), then embedding its chunks into the
catalog and publishing them to the vector store (ready)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.catalog import Chunks
from core.catalog.records import Collection, Job
from core.errors import NotFound
from core.resources import Resources
from core.stores.protocol import VectorMeta, VectorStore
from core.telemetry import CHUNKS_INGESTED, PAGES_INGESTED
from ingest.parse import Parsed

# Texts per encode call: large enough to keep the model busy, small enough to checkpoint often.
EMBED_BATCH = 256


class Pipeline:
    def __init__(self, resources: Resources) -> None:
        """The vector store opens when first needed: importing chromadb takes about a second,
        which parsing never needs and `zhiku add` would spend before its first file."""
        self._resources = resources
        self._catalog = resources.catalog

    def warm_up(self) -> None:
        self._resources.embedder.load()

    def store(self, job: Job, worker: str, parsed: Parsed) -> None:
        """Chunks and lexical entries in one transaction: the document becomes searchable."""
        self._catalog.store_parsed(
            job.id, worker, parsed.pages, parsed.drafts, parsed.lexical, parsed.hashes
        )
        PAGES_INGESTED.inc(parsed.pages)
        CHUNKS_INGESTED.inc(len(parsed.drafts))

    def embed(self, jobs: Sequence[Job], worker: str) -> None:
        """Embed the chunks these jobs still lack with their collection's model, each distinct
        text once and longest first in shared batches, checkpointing vectors in the catalog;
        then copy each document's vectors to its collection's vector space and mark it ready."""
        by_collection: dict[str, list[Job]] = {}
        for job in jobs:
            by_collection.setdefault(job.collection_id, []).append(job)
        by_model: dict[str, list[Job]] = {}
        for collection_id, group in by_collection.items():
            collection = self._live_collection(collection_id)
            if collection is not None:
                by_model.setdefault(collection.embedding_model, []).extend(group)
        for model, group in by_model.items():
            self._embed_chunks(model, [j.id for j in group], worker)
        # One store write per collection for the whole slice: Chroma persists every call, so
        # per-document upserts of small documents cost more than embedding them.
        for collection_id, group in by_collection.items():
            # Read again: a re-embedding may have switched the collection meanwhile.
            collection = self._live_collection(collection_id)
            if collection is None:
                continue
            publish(
                self._catalog,
                self._resources.store,
                collection.space,
                collection_id,
                [j.document_id for j in group],
                collection.embedding_model,
            )
            lost = set(self._catalog.mark_ready([j.id for j in group], worker))
            for job in group:
                if job.id in lost and self._gone_or_failed(collection_id, job.document_id):
                    # Deleted or cancelled while we embedded: take back what was published.
                    self._resources.store.delete_document(collection.space, job.document_id)

    def _live_collection(self, collection_id: str) -> Collection | None:
        """None for a collection deleted meanwhile: its jobs and chunks went with it."""
        try:
            return self._catalog.collection_by_id(collection_id)
        except NotFound:
            return None

    def _embed_chunks(self, model: str, job_ids: list[str], worker: str) -> None:
        embedder = self._resources.embedder_for(model)
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
            vectors = embedder.embed([text_by_hash[h] for h in batch]).astype(np.float16)
            self._catalog.store_vectors(
                worker,
                job_ids,
                [
                    (r, v.tobytes())
                    for h, v in zip(batch, vectors, strict=True)
                    for r in rows_by_hash[h]
                ],
            )

    def _gone_or_failed(self, collection_id: str, document_id: str) -> bool:
        if not self._catalog.document_exists(collection_id, document_id):
            return True
        return self._catalog.get_document(collection_id, document_id).status == "failed"


def publish(
    catalog: Chunks,
    store: VectorStore,
    space: str,
    collection_id: str,
    document_ids: Sequence[str],
    model: str,
) -> int:
    """Copy documents' vectors from the catalog to the collection's vector space (idempotent:
    by id)."""
    ids: list[str] = []
    blobs: list[bytes] = []
    metas: list[VectorMeta] = []
    for document_id in document_ids:
        for chunk_id, vector, page, seq in catalog.document_vectors(collection_id, document_id):
            ids.append(chunk_id)
            blobs.append(vector)
            metas.append(VectorMeta(document_id=document_id, page=page, seq=seq))
    store.ensure_collection(space, model)
    if ids:
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(ids), -1)
        store.upsert(space, ids, vectors.astype(np.float32), metas)
    return len(ids)
