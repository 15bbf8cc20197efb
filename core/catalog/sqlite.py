"""The catalog in SQLite (WAL): collections, documents, chunks with their vectors, jobs with
leases, and the FTS5 lexical index, so a chunk and its lexical entry commit together."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from core.catalog.records import (
    Collection,
    Document,
    DocumentStatus,
    Job,
    JobStage,
    JobState,
    NewDocument,
    ScoredChunk,
    StoredChunk,
)
from core.catalog.schema import SCHEMA, fts_create, fts_table
from core.errors import Conflict, NotFound
from core.types import ChunkDraft

LIVE = (DocumentStatus.SEARCHABLE.value, DocumentStatus.READY.value)


class LeaseLost(Exception):
    """The job is no longer held by this worker (its lease expired and another took it, or it
    was cancelled or deleted); the worker drops its work without writing."""


def chunk_id(document_id: str, seq: int) -> str:
    """Derived from document and position, so a second run of a job rewrites the same ids."""
    return f"{document_id[:32]}-{seq:06d}"


def _in(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


class SqliteCatalog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        # executescript commits on its own, so the schema runs outside _tx.
        self._db().executescript(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    def close(self) -> None:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        # IMMEDIATE takes the write lock up front: a read-then-write transaction that upgrades
        # later can fail with SQLITE_BUSY instead of waiting.
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """For the catalog's companions (conversations) that share its database."""
        return self._tx()

    def connection(self) -> sqlite3.Connection:
        return self._db()

    def pragma(self, name: str) -> Any:
        return self._db().execute(f"PRAGMA {name}").fetchone()[0]

    # collections -------------------------------------------------------------------------

    def create_collection(
        self, name: str, embedding_model: str, chunk_tokens: int, chunk_overlap_tokens: int
    ) -> Collection:
        now = time.time()
        cid = uuid.uuid4().hex
        with self._tx() as db:
            if db.execute("SELECT 1 FROM collections WHERE name=?", (name,)).fetchone():
                raise Conflict(f"collection {name!r} already exists")
            db.execute(
                "INSERT INTO collections VALUES (?,?,?,?,?,?)",
                (cid, name, embedding_model, chunk_tokens, chunk_overlap_tokens, now),
            )
            db.execute(fts_create(cid))
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
        rows = (
            self._db()
            .execute(
                "SELECT k.*, (SELECT count(*) FROM documents d WHERE d.collection_id=k.id) AS docs,"
                " (SELECT coalesce(sum(d.chunks), 0) FROM documents d WHERE d.collection_id=k.id"
                f" AND d.status IN {LIVE}) AS chunk_count"
                f" FROM collections k {where} ORDER BY k.name",
                args,
            )
            .fetchall()
        )
        return [
            Collection(
                id=r["id"],
                name=r["name"],
                embedding_model=r["embedding_model"],
                chunk_tokens=r["chunk_tokens"],
                chunk_overlap_tokens=r["chunk_overlap_tokens"],
                created_at=r["created_at"],
                documents=r["docs"],
                chunks=r["chunk_count"],
            )
            for r in rows
        ]

    def delete_collection(self, name: str) -> Collection:
        collection = self.get_collection(name)
        with self._tx() as db:
            db.execute(
                "DELETE FROM messages WHERE conversation_id IN"
                " (SELECT id FROM conversations WHERE collection_id=?)",
                (collection.id,),
            )
            for table in ("chunks", "jobs", "documents", "conversations"):
                db.execute(f"DELETE FROM {table} WHERE collection_id=?", (collection.id,))
            db.execute("DELETE FROM collections WHERE id=?", (collection.id,))
            db.execute(f"DROP TABLE IF EXISTS {fts_table(collection.id)}")
        return collection

    # documents ---------------------------------------------------------------------------

    def add_documents(self, items: Sequence[NewDocument]) -> list[tuple[Document, Job, bool]]:
        """Record documents and their jobs in one transaction. The same bytes again return the
        existing document and job (created=False), unless it had failed: then it is retried."""
        now = time.time()
        added: list[tuple[Document, Job, bool]] = []
        with self._tx() as db:
            for item in items:
                cid, did = item.collection_id, item.document_id
                row = db.execute(
                    "SELECT status FROM documents WHERE collection_id=? AND id=?", (cid, did)
                ).fetchone()
                if row is not None and (row["status"] != DocumentStatus.FAILED or item.failure):
                    added.append(
                        (self._document(db, cid, did), self._latest_job(db, cid, did), False)
                    )
                    continue
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
                added.append((self._document(db, cid, did), self._job_row(db, job_id), True))
        return added

    def get_document(self, collection_id: str, document_id: str) -> Document:
        return self._document(self._db(), collection_id, document_id)

    def _document(self, db: sqlite3.Connection, collection_id: str, document_id: str) -> Document:
        row = db.execute(
            "SELECT * FROM documents WHERE collection_id=? AND id=?", (collection_id, document_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"document {document_id!r} does not exist in this collection")
        return _document(row)

    def document_exists(self, collection_id: str, document_id: str) -> bool:
        row = self._db().execute(
            "SELECT 1 FROM documents WHERE collection_id=? AND id=?", (collection_id, document_id)
        )
        return row.fetchone() is not None

    def list_documents(self, collection_id: str) -> list[Document]:
        rows = (
            self._db()
            .execute(
                "SELECT * FROM documents WHERE collection_id=? ORDER BY created_at, filename",
                (collection_id,),
            )
            .fetchall()
        )
        return [_document(r) for r in rows]

    def delete_document(self, collection_id: str, document_id: str) -> Document:
        """Remove the document, its chunks, lexical entries and jobs in one transaction."""
        document = self.get_document(collection_id, document_id)
        with self._tx() as db:
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
        """How many collections hold these bytes: the blob goes when the last one lets go."""
        row = self._db().execute("SELECT count(*) FROM documents WHERE id=?", (document_id,))
        return int(row.fetchone()[0])

    def _drop_chunks(self, db: sqlite3.Connection, collection_id: str, document_id: str) -> None:
        db.execute(
            f"DELETE FROM {fts_table(collection_id)} WHERE rowid IN"
            " (SELECT rowid FROM chunks WHERE collection_id=? AND document_id=?)",
            (collection_id, document_id),
        )
        db.execute(
            "DELETE FROM chunks WHERE collection_id=? AND document_id=?",
            (collection_id, document_id),
        )

    # jobs --------------------------------------------------------------------------------

    def get_job(self, job_id: str) -> Job:
        return self._job_row(self._db(), job_id)

    def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        found: list[Job] = []
        for start in range(0, len(job_ids), 500):
            part = job_ids[start : start + 500]
            rows = self._db().execute(f"SELECT * FROM jobs WHERE id IN ({_in(part)})", tuple(part))
            found.extend(_job(r) for r in rows)
        return found

    def latest_job(self, collection_id: str, document_id: str) -> Job:
        return self._latest_job(self._db(), collection_id, document_id)

    def _latest_job(self, db: sqlite3.Connection, collection_id: str, document_id: str) -> Job:
        row = db.execute(
            "SELECT * FROM jobs WHERE collection_id=? AND document_id=?"
            " ORDER BY created_at DESC LIMIT 1",
            (collection_id, document_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"document {document_id!r} has no job")
        return _job(row)

    def _job_row(self, db: sqlite3.Connection, job_id: str) -> Job:
        row = db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise NotFound(f"job {job_id!r} does not exist")
        return _job(row)

    def claim_jobs(
        self,
        stage: JobStage,
        worker: str,
        lease_seconds: float,
        max_attempts: int,
        max_jobs: int = 1,
        max_chunks: int = 0,
    ) -> list[Job]:
        """Take the oldest claimable jobs of a stage: queued ones and those whose lease has
        expired (their worker died). Parse claims up to `max_jobs` jobs; embed claims jobs up
        to `max_chunks` chunks in all (at least one job) so small documents share batches."""
        now = time.time()
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, chunks_total, attempts FROM jobs WHERE stage=? AND (state=?"
                " OR (state=? AND lease_until < ?)) ORDER BY created_at LIMIT 256",
                (stage, JobState.QUEUED, JobState.RUNNING, now),
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
                f" updated_at=?, started_at=coalesce(started_at, ?) WHERE id IN ({_in(taken)})",
                (JobState.RUNNING, worker, now + lease_seconds, now, now, *taken),
            )
            if stage == JobStage.PARSE:
                db.execute(
                    "UPDATE documents SET status=?, updated_at=? WHERE (collection_id, id) IN"
                    f" (SELECT collection_id, document_id FROM jobs WHERE id IN ({_in(taken)}))",
                    (DocumentStatus.PROCESSING, now, *taken),
                )
            return [self._job_row(db, job_id) for job_id in taken]

    def renew_leases(self, job_ids: Sequence[str], worker: str, lease_seconds: float) -> set[str]:
        """Extend the leases this worker still holds; returns the ids it no longer holds."""
        if not job_ids:
            return set()
        now = time.time()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET lease_until=? WHERE worker=? AND state=?"
                f" AND id IN ({_in(job_ids)})",
                (now + lease_seconds, worker, JobState.RUNNING, *job_ids),
            )
            held = {
                r["id"]
                for r in db.execute(
                    f"SELECT id FROM jobs WHERE worker=? AND state=? AND id IN ({_in(job_ids)})",
                    (worker, JobState.RUNNING, *job_ids),
                )
            }
        return set(job_ids) - held

    def cancel_job(self, job_id: str) -> Job:
        """Stop a queued or running job: its worker loses the lease at its next write, and the
        document fails with no chunks left, as any failed job."""
        with self._tx() as db:
            job = self._job_row(db, job_id)
            if job.state not in (JobState.QUEUED, JobState.RUNNING):
                raise Conflict(
                    f"job {job_id} is {job.state.value};"
                    " only queued or running jobs can be cancelled"
                )
            self._fail(db, job_id, "cancelled")
            db.execute("UPDATE jobs SET state=? WHERE id=?", (JobState.CANCELLED, job_id))
            return self._job_row(db, job_id)

    def retry_job(self, job_id: str, refused_media_type: str) -> Job:
        """A new job for the document of a failed or cancelled one."""
        now = time.time()
        with self._tx() as db:
            job = self._job_row(db, job_id)
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
        """Give a job back to the queue untouched (its attempt still counts)."""
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state=?, lease_until=NULL, worker=NULL, updated_at=?"
                " WHERE id=? AND worker=? AND state=?",
                (JobState.QUEUED, time.time(), job_id, worker, JobState.RUNNING),
            )

    def release_running_jobs(self) -> int:
        """Put every running job back in the queue: only for the sole owner of an embedded data
        directory, which knows no other worker can be alive."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE jobs SET state=?, lease_until=NULL, worker=NULL WHERE state=?",
                (JobState.QUEUED, JobState.RUNNING),
            )
            return cursor.rowcount

    def _assert_held(self, db: sqlite3.Connection, job_id: str, worker: str) -> sqlite3.Row:
        row = db.execute(
            "SELECT * FROM jobs WHERE id=? AND worker=? AND state=?",
            (job_id, worker, JobState.RUNNING),
        ).fetchone()
        if row is None:
            raise LeaseLost(job_id)
        held: sqlite3.Row = row
        return held

    def set_page_progress(self, job_id: str, worker: str, done: int, total: int) -> None:
        with self._tx() as db:
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
        with self._tx() as db:
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
            db.executemany(
                "INSERT INTO chunks (collection_id, document_id, id, seq, text, page,"
                " heading_path, span_start, span_end, tokens, text_hash)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            db.execute(
                f"INSERT INTO {fts_table(cid)} (rowid, tokens) SELECT c.rowid, t.value"
                " FROM json_each(?) t JOIN chunks c ON c.collection_id=? AND c.document_id=?"
                " AND c.seq=t.key",
                (json.dumps(list(lexical), ensure_ascii=False), cid, did),
            )
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
        """(rowid, text, text hash) of the chunks of these jobs' documents still to embed."""
        rows = self._db().execute(
            "SELECT c.rowid, c.text, c.text_hash FROM jobs j JOIN chunks c ON"
            " c.collection_id=j.collection_id AND c.document_id=j.document_id"
            f" WHERE j.id IN ({_in(job_ids)}) AND c.vector IS NULL",
            tuple(job_ids),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def vectors_by_text(self, embedding_model: str, hashes: Sequence[bytes]) -> dict[bytes, bytes]:
        """Vectors already computed for identical texts with the same model: each distinct
        text is embedded once."""
        found: dict[bytes, bytes] = {}
        db = self._db()
        for start in range(0, len(hashes), 500):
            part = hashes[start : start + 500]
            for r in db.execute(
                "SELECT c.text_hash, c.vector FROM chunks c JOIN collections k"
                f" ON k.id=c.collection_id WHERE c.text_hash IN ({_in(part)})"
                " AND c.vector IS NOT NULL AND k.embedding_model=?",
                (*part, embedding_model),
            ):
                found[r[0]] = r[1]
        return found

    def store_vectors(
        self, worker: str, job_ids: Sequence[str], vectors: Sequence[tuple[int, bytes]]
    ) -> None:
        """Save a batch of vectors (a checkpoint: a restarted job embeds only what is left)."""
        now = time.time()
        with self._tx() as db:
            held = [j for j in job_ids if self._held(db, j, worker)]
            if not held:
                raise LeaseLost(",".join(job_ids))
            db.executemany(
                "UPDATE chunks SET vector=? WHERE rowid=?", [(v, rowid) for rowid, v in vectors]
            )
            db.execute(
                "UPDATE jobs SET chunks_done=(SELECT count(*) FROM chunks c WHERE"
                " c.collection_id=jobs.collection_id AND c.document_id=jobs.document_id AND"
                f" c.vector IS NOT NULL), updated_at=? WHERE id IN ({_in(held)})",
                (now, *held),
            )

    def _held(self, db: sqlite3.Connection, job_id: str, worker: str) -> bool:
        try:
            self._assert_held(db, job_id, worker)
        except LeaseLost:
            return False
        return True

    def document_vectors(
        self, collection_id: str, document_id: str
    ) -> list[tuple[str, bytes, int | None, int]]:
        """(chunk id, float16 vector, page, seq) of a document, for the vector store."""
        rows = self._db().execute(
            "SELECT id, vector, page, seq FROM chunks WHERE collection_id=? AND document_id=?"
            " AND vector IS NOT NULL ORDER BY seq",
            (collection_id, document_id),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def mark_ready(self, job_ids: Sequence[str], worker: str) -> list[str]:
        """Mark these jobs done and their documents ready, in one transaction; returns the
        jobs this worker no longer holds (or whose vectors are incomplete), left untouched."""
        now = time.time()
        lost: list[str] = []
        with self._tx() as db:
            for job_id in job_ids:
                try:
                    job = self._assert_held(db, job_id, worker)
                except LeaseLost:
                    lost.append(job_id)
                    continue
                missing = db.execute(
                    "SELECT count(*) FROM chunks WHERE collection_id=? AND document_id=?"
                    " AND vector IS NULL",
                    (job["collection_id"], job["document_id"]),
                ).fetchone()[0]
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
        """Fail the job and its document, and remove every chunk it wrote (all or nothing)."""
        with self._tx() as db:
            if worker is not None:
                self._assert_held(db, job_id, worker)
            self._fail(db, job_id, reason)
            return self._job_row(db, job_id)

    def _fail(self, db: sqlite3.Connection, job_id: str, reason: str) -> None:
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

    # chunks and lexical search -----------------------------------------------------------

    def document_chunks(self, collection_id: str, document_id: str) -> list[StoredChunk]:
        rows = self._db().execute(
            "SELECT * FROM chunks WHERE collection_id=? AND document_id=? ORDER BY seq",
            (collection_id, document_id),
        )
        return [_chunk(r) for r in rows]

    def ready_chunks(self, collection_id: str, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """The chunks among `ids` whose document is ready: vectors of a document still being
        published, failed or deleted are never returned."""
        found: dict[str, StoredChunk] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            for r in self._db().execute(
                "SELECT c.* FROM chunks c JOIN documents d ON d.collection_id=c.collection_id"
                f" AND d.id=c.document_id WHERE c.collection_id=? AND c.id IN ({_in(part)})"
                " AND d.status=?",
                (collection_id, *part, DocumentStatus.READY),
            ):
                found[r["id"]] = _chunk(r)
        return found

    def lexical_search(
        self,
        collection_id: str,
        tokens: Sequence[str],
        limit: int,
        document_ids: Sequence[str] | None = None,
    ) -> list[ScoredChunk]:
        """BM25 over the pre-tokenised index; only searchable or ready documents are in it.
        Scores are positive, higher is better."""
        if not tokens:
            return []
        query = " OR ".join('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(tokens))
        table = fts_table(collection_id)
        doc_filter = ""
        args: list[object] = [query]
        if document_ids is not None:
            if not document_ids:
                return []
            doc_filter = f" AND c.document_id IN ({_in(document_ids)})"
            args.extend(document_ids)
        args.append(limit)
        rows = self._db().execute(
            f"SELECT c.*, -bm25({table}) AS score FROM {table} JOIN chunks c"
            f" ON c.rowid={table}.rowid WHERE {table} MATCH ?{doc_filter}"
            " ORDER BY bm25(" + table + ") LIMIT ?",
            args,
        )
        return [ScoredChunk(_chunk(r), float(r["score"])) for r in rows]

    def live_chunk_ids(
        self, collection_id: str, statuses: Sequence[DocumentStatus]
    ) -> dict[str, str]:
        """Chunk id → document id for documents in the given statuses."""
        rows = self._db().execute(
            "SELECT c.id, c.document_id FROM chunks c JOIN documents d ON"
            " d.collection_id=c.collection_id AND d.id=c.document_id"
            f" WHERE c.collection_id=? AND d.status IN ({_in(statuses)})",
            (collection_id, *statuses),
        )
        return {r[0]: r[1] for r in rows}

    def lexical_gaps(self, collection_id: str) -> tuple[list[StoredChunk], list[int]]:
        """Chunks missing from the lexical index, and index rows without a chunk."""
        table = fts_table(collection_id)
        db = self._db()
        missing = db.execute(
            f"SELECT c.* FROM chunks c WHERE c.collection_id=? AND c.rowid NOT IN"
            f" (SELECT rowid FROM {table})",
            (collection_id,),
        )
        orphans = db.execute(
            f"SELECT rowid FROM {table} WHERE rowid NOT IN"
            " (SELECT rowid FROM chunks WHERE collection_id=?)",
            (collection_id,),
        )
        return [_chunk(r) for r in missing], [r[0] for r in orphans]

    def repair_lexical(
        self, collection_id: str, entries: Sequence[tuple[int, str]], orphans: Sequence[int]
    ) -> None:
        table = fts_table(collection_id)
        with self._tx() as db:
            db.executemany(f"INSERT INTO {table} (rowid, tokens) VALUES (?,?)", entries)
            db.executemany(f"DELETE FROM {table} WHERE rowid=?", [(r,) for r in orphans])

    def lexical_rows(self, collection_id: str) -> int:
        row = self._db().execute(f"SELECT count(*) FROM {fts_table(collection_id)}")
        return int(row.fetchone()[0])


def _document(r: sqlite3.Row) -> Document:
    return Document(
        collection_id=r["collection_id"],
        id=r["id"],
        filename=r["filename"],
        media_type=r["media_type"],
        size=r["size"],
        status=DocumentStatus(r["status"]),
        error=r["error"],
        pages=r["pages"],
        chunks=r["chunks"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


def _job(r: sqlite3.Row) -> Job:
    return Job(
        id=r["id"],
        collection_id=r["collection_id"],
        document_id=r["document_id"],
        state=JobState(r["state"]),
        stage=JobStage(r["stage"]),
        attempts=r["attempts"],
        pages_done=r["pages_done"],
        pages_total=r["pages_total"],
        chunks_done=r["chunks_done"],
        chunks_total=r["chunks_total"],
        error=r["error"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
    )


def _chunk(r: sqlite3.Row) -> StoredChunk:
    return StoredChunk(
        rowid=r["rowid"],
        collection_id=r["collection_id"],
        document_id=r["document_id"],
        id=r["id"],
        seq=r["seq"],
        text=r["text"],
        page=r["page"],
        heading_path=tuple(json.loads(r["heading_path"])),
        start=r["span_start"],
        end=r["span_end"],
        tokens=r["tokens"],
    )
