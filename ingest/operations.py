"""What spans the stores (catalog, vector store, blobs, queue): creating and deleting a
collection, adding, deleting, cancelling and retrying documents, failing a job, repairing a
collection. The HTTP routes, the CLI and the worker all call these, so each rule is kept once.

It lives in ingest rather than core because adding a document means inspecting its bytes
(ingest/sniff.py knows the formats the loaders read)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from core.catalog.records import Collection, Document, Job, Reembed
from core.errors import Conflict, EmbeddingModelMismatch, NotFound
from core.messages import Reason
from core.resources import Resources
from core.stores import space_for
from ingest.intake import UNKNOWN_MEDIA, AddResult, Intake
from ingest.repair import CheckReport, check_collection


class Operations:
    def __init__(self, resources: Resources) -> None:
        self._resources = resources
        self._settings = resources.settings
        self._catalog = resources.catalog
        self._intake = Intake(
            resources.settings, resources.catalog, resources.blobs, resources.queue.notify
        )

    # collections -------------------------------------------------------------------------

    def create_collection(
        self,
        name: str,
        chunk_tokens: int | None = None,
        chunk_overlap_tokens: int | None = None,
    ) -> Collection:
        """With this process's embedding model, and the settings' chunking where none is
        given. Raises Conflict when the name is taken."""
        s = self._settings
        return self._catalog.create_collection(
            name,
            s.embedding_model,
            chunk_tokens or s.chunk_tokens,
            s.chunk_overlap_tokens if chunk_overlap_tokens is None else chunk_overlap_tokens,
        )

    def collection(self, name: str) -> Collection:
        """An existing collection this process can embed for (its model is this process's,
        or one it can open: a collection re-embedded with another). Raises NotFound, and
        EmbeddingModelMismatch when its model cannot be opened here."""
        found = self._catalog.get_collection(name)
        if not self._resources.can_open(found.embedding_model):
            raise EmbeddingModelMismatch(
                "collection_model_unavailable",
                name=name,
                model=found.embedding_model,
                current=self._settings.embedding_model,
            )
        return found

    def open_collection(self, name: str) -> Collection:
        """The collection, created with the defaults when missing (`zhiku add`)."""
        try:
            return self.collection(name)
        except NotFound:
            return self.create_collection(name)

    def delete_collection(self, name: str) -> None:
        """Catalog rows first (gone from queries at once), then vectors, then the files no
        other collection holds."""
        collection = self._catalog.get_collection(name)
        document_ids = [d.id for d in self._catalog.list_documents(collection.id)]
        spaces = self._spaces(collection.id)
        self._catalog.delete_collection(name)
        for space in spaces:
            self._resources.store.drop_collection(space)
        self._drop_unreferenced_files(document_ids)

    def check(self, collection: Collection) -> CheckReport:
        """Repair disagreement between catalog, lexical index and vector store; only for the
        owner of the data directory (a worker publishing meanwhile would look like one)."""
        return check_collection(self._catalog, self._resources.store, collection)

    # documents ---------------------------------------------------------------------------

    def inspect(self, filename: str, data: bytes) -> str:
        """The media type of acceptable bytes. Raises TooLarge, UnsupportedMedia or LoadError."""
        return self._intake.inspect(filename, data)

    def add_files(
        self, collection: Collection, files: Sequence[tuple[str, bytes]]
    ) -> list[AddResult]:
        """Stored and recorded with their jobs in one transaction, the workers woken after the
        commit; a file that cannot be ingested is recorded as failed with its reason."""
        return self._intake.add_many(collection, files)

    def add_paths(self, collection: Collection, paths: Sequence[Path]) -> list[AddResult]:
        """Files read and recorded in batches of bounded size, one transaction per batch."""
        return self._intake.add_paths(collection, paths)

    def delete_document(self, collection_id: str, document_id: str) -> Document:
        """Catalog first (the document disappears from queries at once), then vectors, then
        the file when no other collection holds the same bytes. Raises NotFound."""
        document = self._catalog.delete_document(collection_id, document_id)
        self._delete_vectors(collection_id, document_id)
        self._drop_unreferenced_files([document_id])
        return document

    # jobs --------------------------------------------------------------------------------

    def cancel_job(self, job_id: str) -> Job:
        """The document fails with no chunk or vector left behind. Raises NotFound, Conflict."""
        job = self._catalog.cancel_job(job_id)
        self._delete_vectors(job.collection_id, job.document_id)
        return job

    def retry_job(self, job_id: str) -> Job:
        """A new job for a failed or cancelled one's document. Raises NotFound, Conflict."""
        job = self._catalog.retry_job(job_id, UNKNOWN_MEDIA)
        self._resources.queue.notify()
        return job

    def fail_job(self, job: Job, reason: Reason, worker: str) -> None:
        """The worker's verdict: the document fails and its vectors go. Raises LeaseLost when
        the worker no longer holds the job."""
        self._catalog.fail_job(job.id, reason, worker=worker)
        self._delete_vectors(job.collection_id, job.document_id)

    # re-embedding ------------------------------------------------------------------------

    def start_reembed(self, collection: Collection, model: str) -> Reembed:
        """Embed the collection again with `model`, into a vector space of its own, in the
        background (ingest/reembed.py); queries keep the current model until the switch.
        Raises Conflict when it already uses that model or one is under way,
        EmbeddingModelMismatch when this process cannot open the model."""
        if model == collection.embedding_model:
            raise Conflict("model_already_used", name=collection.name, model=model)
        if not self._resources.can_open(model):
            raise EmbeddingModelMismatch("embedding_model_unavailable", model=model)
        if self._catalog.get_reembed(collection.id) is not None:
            raise Conflict("collection_reembedding", name=collection.name)
        # The re-embedder empties the space first (what a cancelled attempt left there):
        # this process may not be the one allowed to open an embedded store.
        return self._catalog.start_reembed(collection.id, model, space_for(collection.id, model))

    def reembed_status(self, collection: Collection) -> Reembed | None:
        return self._catalog.get_reembed(collection.id)

    def cancel_reembed(self, collection: Collection, drop_space: bool = True) -> Reembed:
        """The new vector space goes (without `drop_space`, where another process owns an
        embedded store: its re-embedder drops it, or the next start empties it); the
        collection keeps its model and space, untouched. Raises NotFound when none is under
        way."""
        cancelled = self._catalog.cancel_reembed(collection.id)
        if drop_space:
            self._resources.store.drop_collection(cancelled.space)
        return cancelled

    def _spaces(self, collection_id: str) -> list[str]:
        """The vector space in use and the one a re-embedding fills, if any."""
        spaces = [self._catalog.collection_by_id(collection_id).space]
        reembed = self._catalog.get_reembed(collection_id)
        if reembed is not None:
            spaces.append(reembed.space)
        return spaces

    def _delete_vectors(self, collection_id: str, document_id: str) -> None:
        try:
            spaces = self._spaces(collection_id)
        except NotFound:
            spaces = [collection_id]
        for space in spaces:
            self._resources.store.delete_document(space, document_id)

    def _drop_unreferenced_files(self, document_ids: Sequence[str]) -> None:
        for document_id in document_ids:
            if self._catalog.document_references(document_id) == 0:
                self._resources.blobs.delete(document_id)
