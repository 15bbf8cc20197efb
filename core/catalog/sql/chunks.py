"""The SQL catalog's chunks: stored with their lexical entries as a document becomes
searchable, given their vectors as it becomes ready, and read for search and repair. The
lexical index itself is the backend's (its lexical_search, scored_terms, passage_chunks,
lexical_gaps, repair_lexical and lexical_rows)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from core.catalog.chunk_columns import STORED_CHUNK_COLUMNS, chunk_row
from core.catalog.protocol import LeaseLost
from core.catalog.records import DocumentStatus, JobStage, JobState, StoredChunk, chunk_of
from core.catalog.sql.base import BATCH, SqlBase, marks
from core.catalog.term_budget import CANDIDATE_BUDGET
from core.types import ChunkDraft


class SqlChunks(SqlBase):
    """The Chunks protocol in SQL, but for the backend's lexical index."""

    # Chunks a lexical search may score (core/catalog/term_budget.py).
    lexical_budget = CANDIDATE_BUDGET

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
            # A re-embedding's switch (sql/reembeds.py) comes wholly before or after these
            # chunks: before, they are embedded with the new model; after, it waits for them.
            db.execute("SELECT id FROM collections WHERE id=?" + self.share_lock, (cid,))
            self._drop_chunks(db, cid, did)
            rows = [chunk_row(cid, did, d, h) for d, h in zip(drafts, text_hashes, strict=True)]
            self.insert_chunks(db, rows, lexical)
            db.execute(
                "UPDATE documents SET status=?, error=NULL, error_code=NULL, error_params=NULL,"
                " pages=?, chunks=?, updated_at=?"
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
            for start in range(0, len(hashes), BATCH):
                part = hashes[start : start + BATCH]
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
                # Only where none is: a re-embedding's switch may have given the chunk its
                # new model's vector while this batch was embedded with the old one.
                "UPDATE chunks SET vector=? WHERE rowid=? AND vector IS NULL",
                [(v, rowid) for rowid, v in vectors],
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
            for start in range(0, len(ids), BATCH):
                part = ids[start : start + BATCH]
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
