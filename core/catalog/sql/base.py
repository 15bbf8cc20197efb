"""What every area of the SQL catalog shares: the connections (a write transaction, or reads
outside one), the clock leases are measured by, the hooks each backend supplies (row locks,
document locks, its lexical index), and the rows several areas read inside a transaction (a
document, a job, a held job) or drop (a document's chunks). Statements use `?` placeholders and
no `%` or `?` anywhere else, so the PostgreSQL backend can turn them into psycopg's `%s`.

The areas (collections.py, documents.py, jobs.py, chunks.py) are mixins of this base, composed
into SqlCatalog (catalog.py): they share one connection provider and call each other only
through these shared rows, so each module holds one area's statements."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from core.catalog.protocol import LeaseLost
from core.catalog.records import (
    Document,
    DocumentStatus,
    Job,
    JobState,
    Row,
    document_of,
    job_of,
)
from core.errors import NotFound, job_not_found

LIVE = (DocumentStatus.SEARCHABLE.value, DocumentStatus.READY.value)

# Bound parameters per statement: SQLite allows 32766, and long IN lists plan slowly anyway.
BATCH = 500


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


class SqlBase(ABC):
    """The connections and hooks a backend supplies, and the rows the areas share."""

    # Appended to a SELECT that reads a row this transaction then writes depending on it.
    row_lock = ""
    # Appended to the SELECT of jobs to claim: concurrent claimers must never share a job.
    claim_lock = ""
    # Appended to a SELECT of a row that must not change until this transaction ends, while
    # others may read it alike (a collection's model while its chunks are inserted).
    share_lock = ""

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

    # rows the areas share ----------------------------------------------------------------

    def _document(self, db: Db, collection_id: str, document_id: str) -> Document:
        row = db.execute(
            "SELECT * FROM documents WHERE collection_id=? AND id=?", (collection_id, document_id)
        ).fetchone()
        if row is None:
            raise NotFound("document_not_found", document=document_id)
        return document_of(row)

    def _latest_job(self, db: Db, collection_id: str, document_id: str) -> Job:
        row = db.execute(
            "SELECT * FROM jobs WHERE collection_id=? AND document_id=?"
            " ORDER BY created_at DESC LIMIT 1",
            (collection_id, document_id),
        ).fetchone()
        if row is None:
            raise NotFound("document_has_no_job", document=document_id)
        return job_of(row)

    def _job_row(self, db: Db, job_id: str, lock: bool = False) -> Job:
        row = db.execute(
            "SELECT * FROM jobs WHERE id=?" + (self.row_lock if lock else ""), (job_id,)
        ).fetchone()
        if row is None:
            raise job_not_found(job_id)
        return job_of(row)

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

    def _drop_chunks(self, db: Db, collection_id: str, document_id: str) -> None:
        self.unindex_document(db, collection_id, document_id)
        db.execute(
            "DELETE FROM chunks WHERE collection_id=? AND document_id=?",
            (collection_id, document_id),
        )
