"""The SQL catalog's documents: recorded with their first job in one transaction (the same
bytes again return the existing ones), read, and deleted with their chunks and jobs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from core.catalog.records import (
    Document,
    DocumentStatus,
    Job,
    JobStage,
    JobState,
    NewDocument,
    document_of,
    reason_columns,
)
from core.catalog.sql.base import Db, SqlBase


class SqlDocuments(SqlBase):
    """The Documents protocol in SQL."""

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
        failure = reason_columns(item.failure) if item.failure else (None, None, None)
        db.execute(
            "INSERT INTO documents (collection_id, id, filename, media_type, size,"
            " status, error, error_code, error_params, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (collection_id, id) DO UPDATE SET filename=excluded.filename,"
            " media_type=excluded.media_type, status=excluded.status,"
            " error=excluded.error, error_code=excluded.error_code,"
            " error_params=excluded.error_params, pages=0, chunks=0,"
            " updated_at=excluded.updated_at",
            (
                cid,
                did,
                item.filename,
                item.media_type,
                item.size,
                DocumentStatus.FAILED if failed else DocumentStatus.QUEUED,
                *failure,
                now,
                now,
            ),
        )
        job_id = uuid.uuid4().hex
        db.execute(
            "INSERT INTO jobs (id, collection_id, document_id, state, stage, error, error_code,"
            " error_params, created_at, updated_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                job_id,
                cid,
                did,
                JobState.FAILED if failed else JobState.QUEUED,
                JobStage.PARSE,
                *failure,
                now,
                now,
                now if failed else None,
            ),
        )
        return self._document(db, cid, did), self._job_row(db, job_id), True

    def get_document(self, collection_id: str, document_id: str) -> Document:
        with self.reading() as db:
            return self._document(db, collection_id, document_id)

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
