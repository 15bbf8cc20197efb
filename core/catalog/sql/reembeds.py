"""The SQL catalog's re-embeddings: a collection's chunks embedded again with another model,
each new vector kept beside the one in use (`chunks.next_vector`, a checkpoint: a restarted
re-embedding continues from there), and the switch to the new model and its vector space in
one transaction once every chunk has its new vector."""

from __future__ import annotations

import time
from collections.abc import Sequence

from core.catalog.records import Reembed, ReembedChunk
from core.catalog.sql.base import Db, SqlBase
from core.errors import Conflict, NotFound


class SqlReembeds(SqlBase):
    """The Reembeds protocol in SQL."""

    def start_reembed(self, collection_id: str, model: str, space: str) -> Reembed:
        """Raises Conflict when one is already under way."""
        now = time.time()
        with self.transaction() as db:
            added = db.execute(
                "INSERT INTO reembeds (collection_id, model, space, created_at, updated_at)"
                " VALUES (?,?,?,?,?) ON CONFLICT (collection_id) DO NOTHING",
                (collection_id, model, space, now, now),
            )
            if added.rowcount != 1:
                raise Conflict("reembed_running")
            # Left over from a re-embedding cancelled between two of its batches.
            db.execute("UPDATE chunks SET next_vector=NULL WHERE collection_id=?", (collection_id,))
        found = self.get_reembed(collection_id)
        assert found is not None
        return found

    def get_reembed(self, collection_id: str) -> Reembed | None:
        """The re-embedding under way, with its progress in chunks; None when there is none."""
        with self.reading() as db:
            row = db.execute(
                "SELECT r.collection_id, r.model, r.space, r.created_at,"
                " (SELECT count(*) FROM chunks c WHERE c.collection_id=r.collection_id"
                "  AND c.next_vector IS NOT NULL) AS done,"
                " (SELECT count(*) FROM chunks c WHERE c.collection_id=r.collection_id) AS total"
                " FROM reembeds r WHERE r.collection_id=?",
                (collection_id,),
            ).fetchone()
        if row is None:
            return None
        return Reembed(
            row["collection_id"],
            row["model"],
            row["space"],
            row["created_at"],
            row["done"],
            row["total"],
        )

    def claim_reembed(self, worker: str, lease_seconds: float) -> Reembed | None:
        """A re-embedding no live worker holds (or this worker's own), leased to `worker`."""
        with self.transaction() as db:
            now = self.now(db)
            row = db.execute(
                "SELECT collection_id FROM reembeds WHERE worker IS NULL OR worker=?"
                " OR lease_until<? ORDER BY created_at LIMIT 1" + self.claim_lock,
                (worker, now),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE reembeds SET worker=?, lease_until=?, updated_at=? WHERE collection_id=?",
                (worker, now + lease_seconds, now, row["collection_id"]),
            )
        return self.get_reembed(row["collection_id"])

    def release_reembeds(self) -> int:
        """The sole owner of a data directory at start: no other worker holds one."""
        with self.transaction() as db:
            return db.execute(
                "UPDATE reembeds SET worker=NULL, lease_until=NULL WHERE worker IS NOT NULL"
            ).rowcount

    def chunks_to_reembed(self, collection_id: str, limit: int) -> list[ReembedChunk]:
        """Chunks without their new vector yet, documents added meanwhile included."""
        with self.reading() as db:
            rows = db.execute(
                "SELECT rowid, id, document_id, page, seq, text FROM chunks"
                " WHERE collection_id=? AND next_vector IS NULL ORDER BY rowid LIMIT ?",
                (collection_id, limit),
            ).fetchall()
        return [
            ReembedChunk(r["rowid"], r["id"], r["document_id"], r["page"], r["seq"], r["text"])
            for r in rows
        ]

    def store_next_vectors(
        self,
        collection_id: str,
        worker: str,
        lease_seconds: float,
        vectors: Sequence[tuple[int, bytes]],
    ) -> None:
        """Save a batch of new vectors and renew the lease. Raises NotFound when the
        re-embedding was cancelled, Conflict when another worker took it over."""
        with self.transaction() as db:
            now = self.now(db)
            self._assert_reembed_held(db, collection_id, worker)
            db.executemany(
                "UPDATE chunks SET next_vector=? WHERE rowid=? AND collection_id=?",
                [(v, rowid, collection_id) for rowid, v in vectors],
            )
            db.execute(
                "UPDATE reembeds SET lease_until=?, updated_at=? WHERE collection_id=?",
                (now + lease_seconds, now, collection_id),
            )

    def finish_reembed(self, collection_id: str, worker: str) -> bool:
        """The switch, in one transaction: every chunk's new vector becomes its vector and the
        collection records the new model and space. False (and nothing changed) while a chunk
        still lacks its new vector, as one of a document added meanwhile may."""
        with self.transaction() as db:
            reembed = self._assert_reembed_held(db, collection_id, worker)
            # Locks the collection's row: chunks are inserted under a share lock of it, so none
            # arrives between the count below and the switch.
            db.execute(
                "SELECT id FROM collections WHERE id=?" + self.row_lock, (collection_id,)
            ).fetchone()
            left = db.execute(
                "SELECT count(*) AS n FROM chunks WHERE collection_id=? AND next_vector IS NULL",
                (collection_id,),
            ).fetchone()
            if left["n"]:
                return False
            db.execute(
                "UPDATE chunks SET vector=next_vector, next_vector=NULL"
                " WHERE collection_id=? AND next_vector IS NOT NULL",
                (collection_id,),
            )
            db.execute(
                "UPDATE collections SET embedding_model=?, vector_space=? WHERE id=?",
                (reembed["model"], reembed["space"], collection_id),
            )
            db.execute("DELETE FROM reembeds WHERE collection_id=?", (collection_id,))
        return True

    def cancel_reembed(self, collection_id: str) -> Reembed:
        """The record and the new vectors go; the collection keeps its model. Raises NotFound."""
        found = self.get_reembed(collection_id)
        if found is None:
            raise NotFound("reembed_not_running")
        with self.transaction() as db:
            db.execute("DELETE FROM reembeds WHERE collection_id=?", (collection_id,))
            db.execute("UPDATE chunks SET next_vector=NULL WHERE collection_id=?", (collection_id,))
        return found

    def _assert_reembed_held(self, db: Db, collection_id: str, worker: str) -> dict[str, str]:
        row = db.execute(
            "SELECT model, space, worker FROM reembeds WHERE collection_id=?" + self.row_lock,
            (collection_id,),
        ).fetchone()
        if row is None:
            raise NotFound("reembed_no_longer_running")
        if row["worker"] != worker:
            raise Conflict("reembed_taken_over")
        return {"model": row["model"], "space": row["space"]}
