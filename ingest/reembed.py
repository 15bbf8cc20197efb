"""Re-embedding a collection with another model in the background: its chunks embedded in
small batches into a vector space of the new model, each batch checkpointed in the catalog
(`chunks.next_vector`) after the space has it, so a restart continues where it stopped; chunks
of documents added meanwhile are picked up too; when none is left, the catalog switches the
collection's model and space in one transaction and the old space is dropped. Queries use the
old space until that switch."""

from __future__ import annotations

import logging
import threading

import numpy as np

from core.catalog.records import DocumentStatus, Reembed
from core.errors import Conflict, NotFound, ZhikuError
from core.resources import Resources
from core.stores.protocol import VectorMeta

log = logging.getLogger("zhiku.reembed")

# Chunks per batch: small, as the multilingual model embeds a few passages a second on a
# small CPU, and each batch is a checkpoint and a chance to notice a cancel or a stop.
REEMBED_BATCH = 16
# How often an idle re-embedder looks for work, and how long it waits after a failure.
_POLL_S = 1.0
_AFTER_FAILURE_S = 10.0


class Reembedder:
    def __init__(self, resources: Resources, name: str) -> None:
        self._resources = resources
        self._catalog = resources.catalog
        self._lease = resources.settings.job_lease_seconds
        self.name = name

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                worked = self.run_once(stop)
            except Exception as exc:  # a store or a model failing: the thread lives on
                message = exc.message if isinstance(exc, ZhikuError) else repr(exc)
                log.warning("re-embedding failed, will try again: %s", message)
                stop.wait(_AFTER_FAILURE_S)
                continue
            if not worked:
                stop.wait(_POLL_S)

    def run_once(self, stop: threading.Event | None = None) -> bool:
        """Claim a re-embedding and work on it until it is switched, cancelled or `stop` is
        set; False when there was none to claim."""
        claimed = self._catalog.claim_reembed(self.name, self._lease)
        if claimed is None:
            return False
        try:
            self._work(claimed, stop or threading.Event())
        except (NotFound, Conflict) as exc:
            # Cancelled (its space may have been made again by our last write) or taken over.
            log.info("re-embedding of %s stopped: %s", claimed.collection_id, exc.message)
            if self._catalog.get_reembed(claimed.collection_id) is None:
                self._resources.store.drop_collection(claimed.space)
        return True

    def _work(self, reembed: Reembed, stop: threading.Event) -> None:
        cid = reembed.collection_id
        embedder = self._resources.embedder_for(reembed.model)
        store = self._resources.store
        if reembed.chunks_done == 0:
            # A fresh start: whatever a cancelled attempt left in the space goes.
            store.drop_collection(reembed.space)
        store.ensure_collection(reembed.space, reembed.model)
        while not stop.is_set():
            chunks = self._catalog.chunks_to_reembed(cid, REEMBED_BATCH)
            if chunks:
                vectors = embedder.embed([c.text for c in chunks]).astype(np.float16)
                # The space first, then the checkpoint: a chunk with a new vector in the
                # catalog always has it in the space too.
                store.upsert(
                    reembed.space,
                    [c.id for c in chunks],
                    vectors.astype(np.float32),
                    [VectorMeta(c.document_id, c.page, c.seq) for c in chunks],
                )
                self._catalog.store_next_vectors(
                    cid,
                    self.name,
                    self._lease,
                    [(c.rowid, v.tobytes()) for c, v in zip(chunks, vectors, strict=True)],
                )
                continue
            old_space = self._catalog.collection_by_id(cid).space
            # Questions to the new model are answered without loading anything first (its
            # query export, where passages ran in torch), in this process at least.
            embedder.warm_up()
            # Chunks of documents deleted while their new vectors were being written.
            live = self._catalog.live_chunk_ids(cid, list(DocumentStatus))
            store.delete_ids(reembed.space, sorted(store.ids(reembed.space) - set(live)))
            if self._catalog.finish_reembed(cid, self.name):
                store.drop_collection(old_space)
                log.info("collection %s now uses %s", cid, reembed.model)
                return
