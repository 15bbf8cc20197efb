"""What a catalog provides, whichever database holds it (SQLite embedded, PostgreSQL in
scale-out): one small Protocol per area (collections, documents, jobs, chunks with the lexical
index, keys, re-embeddings), and `Catalog`, which combines them with the lifecycle. Code that needs
one area types that area's Protocol. Every method may raise BackendUnavailable when the database
cannot be reached; each docstring names what else a method raises, and says so when nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from core.catalog.conversations import Conversations
from core.catalog.evaluations import Evaluations
from core.catalog.records import (
    ApiKey,
    Collection,
    Document,
    DocumentStatus,
    Job,
    JobStage,
    NewDocument,
    PassageChunk,
    Reembed,
    ReembedChunk,
    ScoredChunk,
    StoredChunk,
)
from core.messages import Reason
from core.scopes import Scopes
from core.types import ChunkDraft


class LeaseLost(Exception):
    """The job is no longer held by this worker (its lease expired and another took it, or it
    was cancelled or deleted); the worker drops its work without writing."""


class Collections(Protocol):
    """Collections, each with its embedding model and chunk sizes."""

    def create_collection(
        self, name: str, embedding_model: str, chunk_tokens: int, chunk_overlap_tokens: int
    ) -> Collection:
        """Raises Conflict when the name is taken."""
        ...

    def get_collection(self, name: str) -> Collection:
        """Raises NotFound."""
        ...

    def collection_by_id(self, collection_id: str) -> Collection:
        """Raises NotFound."""
        ...

    def list_collections(self) -> list[Collection]:
        """By name. Raises nothing else."""
        ...

    def rename_collection(self, name: str, new_name: str) -> Collection:
        """Raises NotFound, and Conflict when `new_name` is taken."""
        ...

    def set_collection_settings(self, name: str, settings: dict[str, Any]) -> Collection:
        """Replaces what a user changed for it. Raises NotFound."""
        ...

    def delete_collection(self, name: str) -> Collection:
        """Removes its documents, chunks, jobs, lexical entries, conversations and
        evaluations. Raises NotFound."""
        ...


class Documents(Protocol):
    """The documents of collections, each recorded with its first job."""

    def add_documents(self, items: Sequence[NewDocument]) -> list[tuple[Document, Job, bool]]:
        """Record documents and their jobs in one transaction, in the order given. The same
        bytes again return the existing document and job (created=False), unless it had
        failed: then it is retried. Raises nothing else."""
        ...

    def get_document(self, collection_id: str, document_id: str) -> Document:
        """Raises NotFound."""
        ...

    def document_exists(self, collection_id: str, document_id: str) -> bool:
        """Raises nothing else."""
        ...

    def list_documents(self, collection_id: str) -> list[Document]:
        """Oldest first. Raises nothing else."""
        ...

    def delete_document(self, collection_id: str, document_id: str) -> Document:
        """The document, its chunks, lexical entries and jobs, in one transaction. Raises
        NotFound."""
        ...

    def document_references(self, document_id: str) -> int:
        """How many collections hold these bytes. Raises nothing else."""
        ...


class Jobs(Protocol):
    """Ingestion jobs: claimed under a lease, so no two workers hold one at once, and moved
    through their stages (parse, embed) to done, failed or cancelled."""

    def get_job(self, job_id: str) -> Job:
        """Raises NotFound."""
        ...

    def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """The jobs that exist among `job_ids`, in no particular order. Raises nothing else."""
        ...

    def latest_job(self, collection_id: str, document_id: str) -> Job:
        """Raises NotFound."""
        ...

    def count_jobs(self) -> dict[str, int]:
        """How many jobs are in each state (states without jobs are left out). Raises nothing
        else."""
        ...

    def claim_jobs(
        self,
        stage: JobStage,
        worker: str,
        lease_seconds: float,
        max_attempts: int,
        max_jobs: int = 1,
        max_chunks: int = 0,
    ) -> list[Job]:
        """Atomically take the oldest claimable jobs of a stage (queued, or running with an
        expired lease): no job is ever handed to two claimers at once. `max_attempts` bounds
        the failures charged to a document (charge_failure); claims themselves are capped at
        CLAIMS_PER_ATTEMPT times it, so a job whose worker keeps dying is failed instead.
        Parse claims up to `max_jobs`; embed claims up to `max_chunks` chunks in all (at least
        one job). Raises nothing else."""
        ...

    def renew_leases(self, job_ids: Sequence[str], worker: str, lease_seconds: float) -> set[str]:
        """Extend the leases this worker still holds; returns the ids it no longer holds.
        Raises nothing else."""
        ...

    def cancel_job(self, job_id: str) -> Job:
        """Fail a queued or running job and drop its chunks. Raises NotFound, Conflict."""
        ...

    def retry_job(self, job_id: str, refused_media_type: str) -> Job:
        """A new job for the document of a failed or cancelled one. Raises NotFound, Conflict
        (not failed, already retried, or the file was refused at intake)."""
        ...

    def release_job(self, job_id: str, worker: str) -> None:
        """Give a held job back to the queue with no failure charged (the claim still counts
        in `attempts`): the worker is stopping, not the document failing; nothing
        when the worker no longer holds it. Raises nothing else."""
        ...

    def charge_failure(self, job_id: str, worker: str, reason: Reason, max_failures: int) -> Job:
        """Count a failure that was the document's fault (its parser crashed): back to the
        queue, or failed with `reason` (its parameters plus `failures`, the count) once it
        failed `max_failures` times. Raises NotFound, LeaseLost."""
        ...

    def stalled_jobs(self, seconds: float) -> list[Job]:
        """Running jobs that recorded no progress (claim, pages, vectors) for `seconds`,
        stalest first. Raises nothing else."""
        ...

    def release_running_jobs(self) -> int:
        """Put back in the queue running jobs that no live worker can hold, for the sole owner
        of an embedded data directory; returns how many. Raises nothing else."""
        ...

    def set_page_progress(self, job_id: str, worker: str, done: int, total: int) -> None:
        """Raises LeaseLost."""
        ...

    def mark_ready(self, job_ids: Sequence[str], worker: str) -> list[str]:
        """Finish these jobs and make their documents ready, in one transaction; returns the
        jobs left untouched (not held, or vectors missing). Raises nothing else."""
        ...

    def fail_job(self, job_id: str, reason: Reason, worker: str | None = None) -> Job:
        """Fail the job and its document and drop its chunks. Raises NotFound, and LeaseLost
        when `worker` is given and no longer holds it."""
        ...


class Chunks(Protocol):
    """Chunks (with their vectors) and the lexical index, which commits in the same
    transactions as the chunks."""

    def store_parsed(
        self,
        job_id: str,
        worker: str,
        pages: int,
        drafts: Sequence[ChunkDraft],
        lexical: Sequence[str],
        text_hashes: Sequence[bytes],
    ) -> None:
        """Chunks, their lexical entries (space-separated tokens, one string per draft) and the
        `searchable` status in one transaction; the job moves on to the embed stage. Raises
        LeaseLost."""
        ...

    def chunks_without_vectors(self, job_ids: Sequence[str]) -> list[tuple[int, str, bytes]]:
        """(rowid, text, text hash) of these jobs' chunks still to embed. Raises nothing
        else."""
        ...

    def vectors_by_text(self, embedding_model: str, hashes: Sequence[bytes]) -> dict[bytes, bytes]:
        """Vectors already computed by this model for texts with these hashes. Raises nothing
        else."""
        ...

    def store_vectors(
        self, worker: str, job_ids: Sequence[str], vectors: Sequence[tuple[int, bytes]]
    ) -> None:
        """Save (rowid, float16 vector) pairs. Raises LeaseLost when no job is held."""
        ...

    def document_vectors(
        self, collection_id: str, document_id: str
    ) -> list[tuple[str, bytes, int | None, int]]:
        """(chunk id, float16 vector, page, seq) of a document, in order. Raises nothing
        else."""
        ...

    def document_chunks(self, collection_id: str, document_id: str) -> list[StoredChunk]:
        """A document's chunks in order, none for a missing document. Raises nothing else."""
        ...

    def ready_chunks(self, collection_id: str, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """The chunks among `ids` whose document is ready. Raises nothing else."""
        ...

    def live_chunk_ids(
        self, collection_id: str, statuses: Sequence[DocumentStatus]
    ) -> dict[str, str]:
        """Chunk id → document id for documents in the given statuses. Raises nothing else."""
        ...

    def lexical_search(
        self,
        collection_id: str,
        tokens: Sequence[str],
        limit: int,
        document_ids: Sequence[str] | None = None,
    ) -> list[ScoredChunk]:
        """Chunks of searchable or ready documents holding any of the tokens, best first
        (BM25-like, positive scores). Any token text is safe. Raises nothing else."""
        ...

    def scored_terms(self, collection_id: str, tokens: Sequence[str]) -> dict[str, int]:
        """The tokens a lexical search scores (the rarest within the candidate budget,
        core/catalog/term_budget.py), each with how many indexed chunks hold it. Raises
        nothing else."""
        ...

    def passage_chunks(
        self, collection_id: str, ranges: Sequence[tuple[str, int, int]], terms: Sequence[str]
    ) -> list[PassageChunk]:
        """The indexed chunks of each (document id, first seq, last seq) range, in any order,
        with how often each of `terms` occurs in them. Raises nothing else."""
        ...

    def lexical_gaps(self, collection_id: str) -> tuple[list[StoredChunk], list[int]]:
        """Chunks missing from the lexical index, and index rows without a chunk. Raises
        nothing else."""
        ...

    def repair_lexical(
        self, collection_id: str, entries: Sequence[tuple[int, str]], orphans: Sequence[int]
    ) -> None:
        """Index (rowid, space-separated tokens) entries; remove `orphans` from the index.
        Raises nothing else."""
        ...

    def lexical_rows(self, collection_id: str) -> int:
        """How many chunks of the collection the lexical index holds. Raises nothing else."""
        ...


class Keys(Protocol):
    """API keys kept in the catalog, found by a digest of their secret (core/keys.py)."""

    def add_key(self, name: str, secret_hash: str, scopes: Scopes) -> ApiKey:
        """Raises nothing else."""
        ...

    def get_key(self, key_id: str) -> ApiKey:
        """Raises NotFound."""
        ...

    def active_key(self, secret_hash: str) -> ApiKey | None:
        """The unrevoked key with this digest, if any. Raises nothing else."""
        ...

    def has_active_keys(self) -> bool:
        """Whether any key is unrevoked. Raises nothing else."""
        ...

    def list_keys(self) -> list[ApiKey]:
        """Revoked ones included, oldest first. Raises nothing else."""
        ...

    def revoke_key(self, key_id: str) -> ApiKey:
        """Revoking a revoked key keeps its first revocation time. Raises NotFound."""
        ...

    def touch_key(self, key_id: str) -> None:
        """Record that the key was used now. Raises nothing else."""
        ...


class Reembeds(Protocol):
    """Re-embeddings: a collection's chunks embedded with another model beside the vectors in
    use, checkpointed per batch, switched over in one transaction (core/catalog/sql/reembeds.py)."""

    def start_reembed(self, collection_id: str, model: str, space: str) -> Reembed:
        """Raises Conflict when one is already under way."""
        ...

    def get_reembed(self, collection_id: str) -> Reembed | None:
        """With its progress; None when none is under way. Raises nothing else."""
        ...

    def claim_reembed(self, worker: str, lease_seconds: float) -> Reembed | None:
        """One no live worker holds, leased to `worker`. Raises nothing else."""
        ...

    def release_reembeds(self) -> int:
        """Forget every lease (the sole owner, at start). Raises nothing else."""
        ...

    def chunks_to_reembed(self, collection_id: str, limit: int) -> list[ReembedChunk]:
        """Chunks still without their new vector. Raises nothing else."""
        ...

    def store_next_vectors(
        self,
        collection_id: str,
        worker: str,
        lease_seconds: float,
        vectors: Sequence[tuple[int, bytes]],
    ) -> None:
        """Raises NotFound when cancelled, Conflict when another worker holds it."""
        ...

    def finish_reembed(self, collection_id: str, worker: str) -> bool:
        """Switch when every chunk has its new vector; False otherwise. Raises as above."""
        ...

    def cancel_reembed(self, collection_id: str) -> Reembed:
        """Raises NotFound when none is under way."""
        ...


class Catalog(Collections, Documents, Jobs, Chunks, Keys, Reembeds, Protocol):
    """What a catalog backend provides: every area, in one database, and its lifecycle."""

    def close(self) -> None:
        """Release connections; the object is not used afterwards. Raises nothing."""
        ...

    def ping(self) -> None:
        """Raises BackendUnavailable when the database cannot answer (for readiness checks)."""
        ...

    def conversations(self) -> Conversations:
        """The conversation store in the same database. Raises nothing."""
        ...

    def evaluations(self) -> Evaluations:
        """The evaluation runs in the same database. Raises nothing."""
        ...
