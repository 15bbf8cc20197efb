"""The catalog's logic in SQL that SQLite and PostgreSQL both run; each backend supplies its
connections, row locks and lexical index. Statements use `?` placeholders and no `%` or `?`
anywhere else, so the PostgreSQL backend can turn them into psycopg's `%s`."""

from __future__ import annotations

import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from core.catalog.protocol import Conversations, LeaseLost
from core.catalog.records import (
    Collection,
    Document,
    DocumentStatus,
    Job,
    JobStage,
    JobState,
    NewDocument,
    Row,
    StoredChunk,
    chunk_id,
    chunk_of,
    collection_of,
    document_of,
    job_of,
)
from core.catalog.term_budget import CANDIDATE_BUDGET
from core.errors import Conflict, NotFound
from core.types import ChunkDraft

LIVE = (DocumentStatus.SEARCHABLE.value, DocumentStatus.READY.value)

# Columns of a new chunk row, in the order `SqlCatalog._chunk_rows` gives them.
CHUNK_COLUMNS = (
    "collection_id, document_id, id, seq, text, page, heading_path, span_start, span_end,"
    " tokens, text_hash"
)


# What `chunk_of` reads, from chunks aliased `c`, without the vector: on PostgreSQL a chunk's
# vector lives out of line (TOAST), and fetching it costs a second lookup per row that nothing
# reading chunks uses.
STORED_CHUNK_COLUMNS = (
    "c.rowid, c.collection_id, c.document_id, c.id, c.seq, c.text, c.page, c.heading_path,"
    " c.span_start, c.span_end, c.tokens"
)

# Bound parameters per statement: SQLite allows 32766, and long IN lists plan slowly anyway.
_BATCH = 500


class Rows(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """The part of a DB-API connection the catalog uses; rows are read by column name."""

    def execute(self, sql: str, args: Any = ..., /) -> Rows: ...

    def executemany(self, sql: str, args: Any, /) -> Any: ...


def marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


class SqlCatalog(ABC):
    """Implements the Catalog protocol but for connections and the lexical index: a backend
    adds lexical_search, lexical_gaps, repair_lexical and lexical_rows."""

    # Appended to a SELECT that reads a row this transaction then writes depending on it.
    row_lock = ""
    # Appended to the SELECT of jobs to claim: concurrent claimers must never share a job.
    claim_lock = ""
    # Chunks a lexical search may score (core/catalog/term_budget.py).
    lexical_budget = CANDIDATE_BUDGET

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Db]:
        """A write transaction: committed when the block ends, rolled back on an exception."""

    @abstractmethod
    def reading(self) -> AbstractContextManager[Db]:
        """A connection for reads outside any explicit transaction."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def ping(self) -> None: ...

    def conversations(self) -> Conversations:
        from core.catalog.conversations import SqlConversations

        return SqlConversations(self)

    def now(self, db: Db) -> float:
        """The clock leases are measured by."""
        return time.time()

    @abstractmethod
    def lock_documents(self, db: Db, keys: Sequence[tuple[str, str]]) -> None:
        """Serialise concurrent adds of the same documents."""

    @abstractmethod
    def create_lexical(self, db: Db, collection_id: str) -> None:
        """Make room for a new collection's lexical entries."""

    @abstractmethod
    def drop_lexical(self, db: Db, collection_id: str) -> None:
        """Remove a deleted collection's lexical index."""

    @abstractmethod
    def unindex_document(self, db: Db, collection_id: str, document_id: str) -> None:
        """Remove a document's lexical entries; its chunk rows go right after."""

    @abstractmethod
    def insert_chunks(self, db: Db, rows: list[tuple[Any, ...]], lexical: Sequence[str]) -> None:
        """Insert chunk rows (CHUNK_COLUMNS) and their lexical entries, one string each."""

    # collections -------------------------------------------------------------------------

    def create_collection(
        self, name: str, embedding_model: str, chunk_tokens: int, chunk_overlap_tokens: int
    ) -> Collection:
        cid = uuid.uuid4().hex
        with self.transaction() as db:
            added = db.execute(
                "INSERT INTO collections VALUES (?,?,?,?,?,?) ON CONFLICT (name) DO NOTHING",
                (cid, name, embedding_model, chunk_tokens, chunk_overlap_tokens, time.time()),
            )
            if added.rowcount != 1:
                raise Conflict(f"collection {name!r} already exists")
            self.create_lexical(db, cid)
        return self.get_collection(name)

    def get_collection(self, name: str) -> Collection:
        rows = self._collections("WHERE k.name=?", (name,))
        if not rows:
            raise NotFound(f"collection {name!r} does not exist; create it first")
        return rows[0]

    def collection_by_id(self, collection_id: str) -> Collection:
        rows = self._collections("WHERE k.id=?", (collection_id,))
        if not rows:
            raise NotFound(f"collection id {collection_id!r} does not exist")
        return rows[0]

    def list_collections(self) -> list[Collection]:
        return self._collections("", ())

    def _collections(self, where: str, args: tuple[object, ...]) -> list[Collection]:
        with self.reading() as db:
            rows = db.execute(
                "SELECT k.*, (SELECT count(*) FROM documents d WHERE d.collection_id=k.id) AS docs,"
                " (SELECT coalesce(sum(d.chunks), 0) FROM documents d WHERE d.collection_id=k.id"
                f" AND d.status IN {LIVE}) AS chunk_count"
                f" FROM collections k {where} ORDER BY k.name",
                args,
            ).fetchall()
        return [collection_of(r) for r in rows]

    def delete_collection(self, name: str) -> Collection:
        collection = self.get_collection(name)
        with self.transaction() as db:
            db.execute(
                "DELETE FROM messages WHERE conversation_id IN"
                " (SELECT id FROM conversations WHERE collection_id=?)",
                (collection.id,),
            )
            for table in ("chunks", "jobs", "documents", "conversations"):
                db.execute(f"DELETE FROM {table} WHERE collection_id=?", (collection.id,))
            db.execute("DELETE FROM collections WHERE id=?", (collection.id,))
            self.drop_lexical(db, collection.id)
        return collection

    # documents ---------------------------------------------------------------------------

    def add_documents(self, items: Sequence[NewDocument]) -> list[tuple[Document, Job, bool]]:
        now = time.time()
        added: list[tuple[Document, Job, bool]] = []
        with self.transaction() as db:
            self.lock_documents(db, [(i.collection_id, i.document_id) for i in items])
            for item in items:
                added.append(self._add_document(db, item, now))
        return added

    def _add_document(self, db: Db, item: NewDocument, now: float) -> tuple[Document, Job, bool]:
        cid, did = item.collection_id, item.document_id
        row = db.execute(
            "SELECT status FROM documents WHERE collection_id=? AND id=?", (cid, did)
        ).fetchone()
        if row is not None and (row["status"] != DocumentStatus.FAILED or item.failure):
            return self._document(db, cid, did), self._latest_job(db, cid, did), False
        failed = item.failure is not None
        db.execute(
            "INSERT INTO documents (collection_id, id, filename, media_type, size,"
            " status, error, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (collection_id, id) DO UPDATE SET filename=excluded.filename,"
            " media_type=excluded.media_type, status=excluded.status,"
            " error=excluded.error, pages=0, chunks=0, updated_at=excluded.updated_at",
            (
                cid,
                did,
                item.filename,
                item.media_type,
                item.size,
                DocumentStatus.FAILED if failed else DocumentStatus.QUEUED,
                item.failure,
                now,
                now,
            ),
        )
        job_id = uuid.uuid4().hex
        db.execute(
            "INSERT INTO jobs (id, collection_id, document_id, state, stage, error,"
            " created_at, updated_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                job_id,
                cid,
                did,
                JobState.FAILED if failed else JobState.QUEUED,
                JobStage.PARSE,
                item.failure,
                now,
                now,
                now if failed else None,
            ),
        )
        return self._document(db, cid, did), self._job_row(db, job_id), True

    def get_document(self, collection_id: str, document_id: str) -> Document:
        with self.reading() as db:
            return self._document(db, collection_id, document_id)

    def _document(self, db: Db, collection_id: str, document_id: str) -> Document:
        row = db.execute(
            "SELECT * FROM documents WHERE collection_id=? AND id=?", (collection_id, document_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"document {document_id!r} does not exist in this collection")
        return document_of(row)

    def document_exists(self, collection_id: str, document_id: str) -> bool:
        with self.reading() as db:
            row = db.execute(
                "SELECT 1 FROM documents WHERE collection_id=? AND id=?",
                (collection_id, document_id),
            ).fetchone()
        return row is not None

    def list_documents(self, collection_id: str) -> list[Document]:
        with self.reading() as db:
            rows = db.execute(
                "SELECT * FROM documents WHERE collection_id=? ORDER BY created_at, filename",
                (collection_id,),
            ).fetchall()
        return [document_of(r) for r in rows]

    def delete_document(self, collection_id: str, document_id: str) -> Document:
        document = self.get_document(collection_id, document_id)
        with self.transaction() as db:
            self._drop_chunks(db, collection_id, document_id)
            db.execute(
                "DELETE FROM jobs WHERE collection_id=? AND document_id=?",
                (collection_id, document_id),
            )
            db.execute(
                "DELETE FROM documents WHERE collection_id=? AND id=?",
                (collection_id, document_id),
            )
        return document

    def document_references(self, document_id: str) -> int:
        with self.reading() as db:
            row = db.execute("SELECT count(*) AS n FROM documents WHERE id=?", (document_id,))
            return int(row.fetchone()["n"])

    def _drop_chunks(self, db: Db, collection_id: str, document_id: str) -> None:
        self.unindex_document(db, collection_id, document_id)
        db.execute(
            "DELETE FROM chunks WHERE collection_id=? AND document_id=?",
            (collection_id, document_id),
        )

    # jobs --------------------------------------------------------------------------------

    def get_job(self, job_id: str) -> Job:
        with self.reading() as db:
            return self._job_row(db, job_id)

    def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        found: list[Job] = []
        with self.reading() as db:
            for start in range(0, len(job_ids), _BATCH):
                part = job_ids[start : start + _BATCH]
                rows = db.execute(f"SELECT * FROM jobs WHERE id IN ({marks(part)})", tuple(part))
                found.extend(job_of(r) for r in rows)
        return found

    def latest_job(self, collection_id: str, document_id: str) -> Job:
        with self.reading() as db:
            return self._latest_job(db, collection_id, document_id)

    def _latest_job(self, db: Db, collection_id: str, document_id: str) -> Job:
        row = db.execute(
            "SELECT * FROM jobs WHERE collection_id=? AND document_id=?"
            " ORDER BY created_at DESC LIMIT 1",
            (collection_id, document_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"document {document_id!r} has no job")
        return job_of(row)

    def _job_row(self, db: Db, job_id: str, lock: bool = False) -> Job:
        row = db.execute(
            "SELECT * FROM jobs WHERE id=?" + (self.row_lock if lock else ""), (job_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"job {job_id!r} does not exist")
        return job_of(row)

    def count_jobs(self) -> dict[str, int]:
        with self.reading() as db:
            rows = db.execute("SELECT state, count(*) AS n FROM jobs GROUP BY state").fetchall()
        return {str(r["state"]): int(r["n"]) for r in rows}

    def claim_jobs(
        self,
        stage: JobStage,
        worker: str,
        lease_seconds: float,
        max_attempts: int,
        max_jobs: int = 1,
        max_chunks: int = 0,
    ) -> list[Job]:
        with self.transaction() as db:
            now = self.now(db)
            # `state IN` lets the index skip the stage's finished jobs, which grow with the
            # collection, instead of reading them all on every claim.
            rows = db.execute(
                "SELECT id, chunks_total, attempts FROM jobs WHERE stage=? AND state IN (?,?)"
                " AND (state=? OR lease_until < ?) ORDER BY created_at LIMIT 256" + self.claim_lock,
                (stage, JobState.QUEUED, JobState.RUNNING, JobState.QUEUED, now),
            ).fetchall()
            taken: list[str] = []
            total = 0
            for row in rows:
                if row["attempts"] >= max_attempts:
                    self._fail(
                        db,
                        row["id"],
                        f"the worker stopped {row['attempts']} times while processing this"
                        " document (killed or out of memory); it was given up",
                    )
                    continue
                full = (
                    len(taken) >= max_jobs
                    if stage == JobStage.PARSE
                    else total + row["chunks_total"] > max_chunks
                )
                if taken and full:
                    break
                taken.append(row["id"])
                total += row["chunks_total"]
            if not taken:
                return []
            db.execute(
                f"UPDATE jobs SET state=?, worker=?, lease_until=?, attempts=attempts+1,"
                f" updated_at=?, started_at=coalesce(started_at, ?) WHERE id IN ({marks(taken)})",
                (JobState.RUNNING, worker, now + lease_seconds, now, now, *taken),
            )
            if stage == JobStage.PARSE:
                db.execute(
                    "UPDATE documents SET status=?, updated_at=? WHERE (collection_id, id) IN"
                    f" (SELECT collection_id, document_id FROM jobs WHERE id IN ({marks(taken)}))",
                    (DocumentStatus.PROCESSING, now, *taken),
                )
            return [self._job_row(db, job_id) for job_id in taken]

    def renew_leases(self, job_ids: Sequence[str], worker: str, lease_seconds: float) -> set[str]:
        if not job_ids:
            return set()
        with self.transaction() as db:
            db.execute(
                "UPDATE jobs SET lease_until=? WHERE worker=? AND state=?"
                f" AND id IN ({marks(job_ids)})",
                (self.now(db) + lease_seconds, worker, JobState.RUNNING, *job_ids),
            )
            held = {
                r["id"]
                for r in db.execute(
                    f"SELECT id FROM jobs WHERE worker=? AND state=? AND id IN ({marks(job_ids)})",
                    (worker, JobState.RUNNING, *job_ids),
                )
            }
        return set(job_ids) - held

    def cancel_job(self, job_id: str) -> Job:
        with self.transaction() as db:
            job = self._job_row(db, job_id, lock=True)
            if job.state not in (JobState.QUEUED, JobState.RUNNING):
                raise Conflict(
                    f"job {job_id} is {job.state.value};"
                    " only queued or running jobs can be cancelled"
                )
            self._fail(db, job_id, "cancelled")
            db.execute("UPDATE jobs SET state=? WHERE id=?", (JobState.CANCELLED, job_id))
            return self._job_row(db, job_id)

    def retry_job(self, job_id: str, refused_media_type: str) -> Job:
        now = time.time()
        with self.transaction() as db:
            job = self._job_row(db, job_id, lock=True)
            if job.state not in (JobState.FAILED, JobState.CANCELLED):
                raise Conflict(
                    f"job {job_id} is {job.state.value};"
                    " only failed or cancelled jobs can be retried"
                )
            document = self._document(db, job.collection_id, job.document_id)
            if document.media_type == refused_media_type:
                raise Conflict(
                    f"the file was refused when it was added ({document.error});"
                    " add a fixed file instead"
                )
            latest = self._latest_job(db, job.collection_id, job.document_id)
            if latest.id != job_id:
                raise Conflict(f"job {job_id} was already retried as job {latest.id}")
            db.execute(
                "UPDATE documents SET status=?, error=NULL, updated_at=?"
                " WHERE collection_id=? AND id=?",
                (DocumentStatus.QUEUED, now, job.collection_id, job.document_id),
            )
            new_id = uuid.uuid4().hex
            db.execute(
                "INSERT INTO jobs (id, collection_id, document_id, state, stage, created_at,"
                " updated_at) VALUES (?,?,?,?,?,?,?)",
                (
                    new_id,
                    job.collection_id,
                    job.document_id,
                    JobState.QUEUED,
                    JobStage.PARSE,
                    now,
                    now,
                ),
            )
            return self._job_row(db, new_id)

    def release_job(self, job_id: str, worker: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE jobs SET state=?, lease_until=NULL, worker=NULL, updated_at=?"
                " WHERE id=? AND worker=? AND state=?",
                (JobState.QUEUED, time.time(), job_id, worker, JobState.RUNNING),
            )

    def release_running_jobs(self) -> int:
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET state=?, lease_until=NULL, worker=NULL WHERE state=?",
                (JobState.QUEUED, JobState.RUNNING),
            )
            return cursor.rowcount

    def _assert_held(self, db: Db, job_id: str, worker: str) -> Row:
        row: Row | None = db.execute(
            "SELECT * FROM jobs WHERE id=? AND worker=? AND state=?" + self.row_lock,
            (job_id, worker, JobState.RUNNING),
        ).fetchone()
        if row is None:
            raise LeaseLost(job_id)
        return row

    def _held(self, db: Db, job_id: str, worker: str) -> bool:
        try:
            self._assert_held(db, job_id, worker)
        except LeaseLost:
            return False
        return True

    def set_page_progress(self, job_id: str, worker: str, done: int, total: int) -> None:
        with self.transaction() as db:
            self._assert_held(db, job_id, worker)
            db.execute(
                "UPDATE jobs SET pages_done=?, pages_total=?, updated_at=? WHERE id=?",
                (done, total, time.time(), job_id),
            )

    def store_parsed(
        self,
        job_id: str,
        worker: str,
        pages: int,
        drafts: Sequence[ChunkDraft],
        lexical: Sequence[str],
        text_hashes: Sequence[bytes],
    ) -> None:
        """Chunks, their lexical entries and the `searchable` status in one transaction, so a
        query sees all of the document or none of it. The job moves on to the embed stage."""
        now = time.time()
        with self.transaction() as db:
            job = self._assert_held(db, job_id, worker)
            cid, did = job["collection_id"], job["document_id"]
            self._drop_chunks(db, cid, did)
            rows = [
                (
                    cid,
                    did,
                    chunk_id(did, d.seq),
                    d.seq,
                    d.text,
                    d.page,
                    json.dumps(d.heading_path, ensure_ascii=False),
                    d.start,
                    d.end,
                    d.tokens,
                    h,
                )
                for d, h in zip(drafts, text_hashes, strict=True)
            ]
            self.insert_chunks(db, rows, lexical)
            db.execute(
                "UPDATE documents SET status=?, error=NULL, pages=?, chunks=?, updated_at=?"
                " WHERE collection_id=? AND id=?",
                (DocumentStatus.SEARCHABLE, pages, len(drafts), now, cid, did),
            )
            db.execute(
                "UPDATE jobs SET stage=?, state=?, attempts=0, worker=NULL, lease_until=NULL,"
                " pages_done=?, pages_total=?, chunks_done=0, chunks_total=?, updated_at=?"
                " WHERE id=?",
                (JobStage.EMBED, JobState.QUEUED, pages, pages, len(drafts), now, job_id),
            )

    def chunks_without_vectors(self, job_ids: Sequence[str]) -> list[tuple[int, str, bytes]]:
        with self.reading() as db:
            rows = db.execute(
                "SELECT c.rowid, c.text, c.text_hash FROM jobs j JOIN chunks c ON"
                " c.collection_id=j.collection_id AND c.document_id=j.document_id"
                f" WHERE j.id IN ({marks(job_ids)}) AND c.vector IS NULL",
                tuple(job_ids),
            ).fetchall()
        return [(r["rowid"], r["text"], bytes(r["text_hash"])) for r in rows]

    def vectors_by_text(self, embedding_model: str, hashes: Sequence[bytes]) -> dict[bytes, bytes]:
        """Vectors already computed for identical texts with the same model: each distinct
        text is embedded once."""
        found: dict[bytes, bytes] = {}
        with self.reading() as db:
            for start in range(0, len(hashes), _BATCH):
                part = hashes[start : start + _BATCH]
                for r in db.execute(
                    "SELECT c.text_hash, c.vector FROM chunks c JOIN collections k"
                    f" ON k.id=c.collection_id WHERE c.text_hash IN ({marks(part)})"
                    " AND c.vector IS NOT NULL AND k.embedding_model=?",
                    (*part, embedding_model),
                ):
                    found[bytes(r["text_hash"])] = bytes(r["vector"])
        return found

    def store_vectors(
        self, worker: str, job_ids: Sequence[str], vectors: Sequence[tuple[int, bytes]]
    ) -> None:
        """Save a batch of vectors (a checkpoint: a restarted job embeds only what is left)."""
        now = time.time()
        with self.transaction() as db:
            held = [j for j in job_ids if self._held(db, j, worker)]
            if not held:
                raise LeaseLost(",".join(job_ids))
            db.executemany(
                "UPDATE chunks SET vector=? WHERE rowid=?", [(v, rowid) for rowid, v in vectors]
            )
            db.execute(
                "UPDATE jobs SET chunks_done=(SELECT count(*) FROM chunks c WHERE"
                " c.collection_id=jobs.collection_id AND c.document_id=jobs.document_id AND"
                f" c.vector IS NOT NULL), updated_at=? WHERE id IN ({marks(held)})",
                (now, *held),
            )

    def document_vectors(
        self, collection_id: str, document_id: str
    ) -> list[tuple[str, bytes, int | None, int]]:
        with self.reading() as db:
            rows = db.execute(
                "SELECT id, vector, page, seq FROM chunks WHERE collection_id=?"
                " AND document_id=? AND vector IS NOT NULL ORDER BY seq",
                (collection_id, document_id),
            ).fetchall()
        return [(r["id"], bytes(r["vector"]), r["page"], r["seq"]) for r in rows]

    def mark_ready(self, job_ids: Sequence[str], worker: str) -> list[str]:
        now = time.time()
        lost: list[str] = []
        with self.transaction() as db:
            for job_id in job_ids:
                try:
                    job = self._assert_held(db, job_id, worker)
                except LeaseLost:
                    lost.append(job_id)
                    continue
                missing = db.execute(
                    "SELECT count(*) AS n FROM chunks WHERE collection_id=? AND document_id=?"
                    " AND vector IS NULL",
                    (job["collection_id"], job["document_id"]),
                ).fetchone()["n"]
                if missing:
                    lost.append(job_id)
                    continue
                db.execute(
                    "UPDATE documents SET status=?, updated_at=? WHERE collection_id=? AND id=?",
                    (DocumentStatus.READY, now, job["collection_id"], job["document_id"]),
                )
                db.execute(
                    "UPDATE jobs SET state=?, lease_until=NULL, chunks_done=chunks_total,"
                    " updated_at=?, finished_at=? WHERE id=?",
                    (JobState.DONE, now, now, job_id),
                )
        return lost

    def fail_job(self, job_id: str, reason: str, worker: str | None = None) -> Job:
        with self.transaction() as db:
            if worker is not None:
                self._assert_held(db, job_id, worker)
            self._fail(db, job_id, reason)
            return self._job_row(db, job_id)

    def _fail(self, db: Db, job_id: str, reason: str) -> None:
        now = time.time()
        job = self._job_row(db, job_id)
        self._drop_chunks(db, job.collection_id, job.document_id)
        db.execute(
            "UPDATE documents SET status=?, error=?, chunks=0, updated_at=?"
            " WHERE collection_id=? AND id=?",
            (DocumentStatus.FAILED, reason, now, job.collection_id, job.document_id),
        )
        db.execute(
            "UPDATE jobs SET state=?, error=?, lease_until=NULL, updated_at=?, finished_at=?"
            " WHERE id=?",
            (JobState.FAILED, reason, now, now, job_id),
        )

    # chunks ------------------------------------------------------------------------------

    def document_chunks(self, collection_id: str, document_id: str) -> list[StoredChunk]:
        with self.reading() as db:
            rows = db.execute(
                f"SELECT {STORED_CHUNK_COLUMNS} FROM chunks c"
                " WHERE c.collection_id=? AND c.document_id=? ORDER BY c.seq",
                (collection_id, document_id),
            ).fetchall()
        return [chunk_of(r) for r in rows]

    def ready_chunks(self, collection_id: str, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """Vectors of a document still being published, failed or deleted are never
        returned."""
        found: dict[str, StoredChunk] = {}
        with self.reading() as db:
            for start in range(0, len(ids), _BATCH):
                part = ids[start : start + _BATCH]
                for r in db.execute(
                    f"SELECT {STORED_CHUNK_COLUMNS} FROM chunks c JOIN documents d"
                    " ON d.collection_id=c.collection_id"
                    f" AND d.id=c.document_id WHERE c.collection_id=? AND c.id IN ({marks(part)})"
                    " AND d.status=?",
                    (collection_id, *part, DocumentStatus.READY),
                ):
                    found[r["id"]] = chunk_of(r)
        return found

    def live_chunk_ids(
        self, collection_id: str, statuses: Sequence[DocumentStatus]
    ) -> dict[str, str]:
        with self.reading() as db:
            rows = db.execute(
                "SELECT c.id, c.document_id FROM chunks c JOIN documents d ON"
                " d.collection_id=c.collection_id AND d.id=c.document_id"
                f" WHERE c.collection_id=? AND d.status IN ({marks(statuses)})",
                (collection_id, *statuses),
            ).fetchall()
        return {r["id"]: r["document_id"] for r in rows}
