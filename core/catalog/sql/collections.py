"""The SQL catalog's collections: created with their lexical index, listed with their counts,
deleted with everything they hold."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from core.catalog.records import Collection, collection_of
from core.catalog.sql.base import LIVE, SqlBase
from core.errors import Conflict, NotFound, collection_not_found


class SqlCollections(SqlBase):
    """The Collections protocol in SQL."""

    def create_collection(
        self, name: str, embedding_model: str, chunk_tokens: int, chunk_overlap_tokens: int
    ) -> Collection:
        cid = uuid.uuid4().hex
        with self.transaction() as db:
            added = db.execute(
                "INSERT INTO collections (id, name, embedding_model, chunk_tokens,"
                " chunk_overlap_tokens, created_at) VALUES (?,?,?,?,?,?)"
                " ON CONFLICT (name) DO NOTHING",
                (cid, name, embedding_model, chunk_tokens, chunk_overlap_tokens, time.time()),
            )
            if added.rowcount != 1:
                raise Conflict("collection_exists", name=name)
            self.create_lexical(db, cid)
        return self.get_collection(name)

    def get_collection(self, name: str) -> Collection:
        rows = self._collections("WHERE k.name=?", (name,))
        if not rows:
            raise collection_not_found(name)
        return rows[0]

    def collection_by_id(self, collection_id: str) -> Collection:
        rows = self._collections("WHERE k.id=?", (collection_id,))
        if not rows:
            raise NotFound("collection_id_not_found", id=collection_id)
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

    def rename_collection(self, name: str, new_name: str) -> Collection:
        collection = self.get_collection(name)
        if new_name == name:
            return collection
        with self.transaction() as db:
            renamed = db.execute(
                "UPDATE collections SET name=? WHERE id=? AND NOT EXISTS"
                " (SELECT 1 FROM collections k WHERE k.name=?)",
                (new_name, collection.id, new_name),
            )
            if renamed.rowcount != 1:
                raise Conflict("collection_exists", name=new_name)
        return self.collection_by_id(collection.id)

    def set_collection_settings(self, name: str, settings: dict[str, Any]) -> Collection:
        collection = self.get_collection(name)
        with self.transaction() as db:
            db.execute(
                "UPDATE collections SET settings=? WHERE id=?",
                (json.dumps(settings) if settings else None, collection.id),
            )
        return self.collection_by_id(collection.id)

    def delete_collection(self, name: str) -> Collection:
        collection = self.get_collection(name)
        with self.transaction() as db:
            db.execute(
                "DELETE FROM messages WHERE conversation_id IN"
                " (SELECT id FROM conversations WHERE collection_id=?)",
                (collection.id,),
            )
            # The re-embedding first: its switch locks that row before the collection's and
            # the chunks', and taking them in the same order here cannot deadlock with it.
            for table in (
                "reembeds",
                "chunks",
                "jobs",
                "documents",
                "conversations",
                "evaluations",
            ):
                db.execute(f"DELETE FROM {table} WHERE collection_id=?", (collection.id,))
            db.execute("DELETE FROM collections WHERE id=?", (collection.id,))
            self.drop_lexical(db, collection.id)
        return collection
