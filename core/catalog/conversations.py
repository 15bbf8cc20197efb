"""Conversations and their messages, in the catalog's database, so a reload or another client
continues the same conversation and condensing reads the history from here."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from core.catalog.sqlite import SqliteCatalog
from core.errors import NotFound

_TITLE_CHARS = 60


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = 0.0


@dataclass(frozen=True)
class Conversation:
    id: str
    collection_id: str
    title: str
    created_at: float
    updated_at: float
    messages: list[Message] = field(default_factory=list)


class SqliteConversations:
    def __init__(self, catalog: SqliteCatalog) -> None:
        self._catalog = catalog

    def create(self, collection_id: str, first_question: str) -> Conversation:
        now = time.time()
        title = " ".join(first_question.split())[:_TITLE_CHARS] or "…"
        conversation_id = uuid.uuid4().hex
        with self._catalog.transaction() as db:
            db.execute(
                "INSERT INTO conversations VALUES (?,?,?,?,?)",
                (conversation_id, collection_id, title, now, now),
            )
        return self.get(collection_id, conversation_id)

    def get(self, collection_id: str, conversation_id: str) -> Conversation:
        db = self._catalog.connection()
        row = db.execute(
            "SELECT * FROM conversations WHERE id=? AND collection_id=?",
            (conversation_id, collection_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"conversation {conversation_id!r} does not exist in this collection")
        messages = [
            Message(m["role"], m["content"], json.loads(m["citations"]), m["created_at"])
            for m in db.execute(
                "SELECT * FROM messages WHERE conversation_id=? ORDER BY rowid", (conversation_id,)
            )
        ]
        return Conversation(
            row["id"],
            row["collection_id"],
            row["title"],
            row["created_at"],
            row["updated_at"],
            messages,
        )

    def in_collection(self, collection_id: str) -> list[Conversation]:
        rows = self._catalog.connection().execute(
            "SELECT * FROM conversations WHERE collection_id=? ORDER BY updated_at DESC",
            (collection_id,),
        )
        return [
            Conversation(r["id"], r["collection_id"], r["title"], r["created_at"], r["updated_at"])
            for r in rows
        ]

    def append(
        self,
        collection_id: str,
        conversation_id: str,
        messages: list[Message],
    ) -> None:
        now = time.time()
        self.get(collection_id, conversation_id)
        with self._catalog.transaction() as db:
            db.executemany(
                "INSERT INTO messages (conversation_id, role, content, citations, created_at)"
                " VALUES (?,?,?,?,?)",
                [
                    (
                        conversation_id,
                        m.role,
                        m.content,
                        json.dumps(m.citations, ensure_ascii=False),
                        now,
                    )
                    for m in messages
                ],
            )
            db.execute("UPDATE conversations SET updated_at=? WHERE id=?", (now, conversation_id))

    def delete(self, collection_id: str, conversation_id: str) -> None:
        self.get(collection_id, conversation_id)
        with self._catalog.transaction() as db:
            db.execute("DELETE FROM messages WHERE conversation_id=?", (conversation_id,))
            db.execute("DELETE FROM conversations WHERE id=?", (conversation_id,))
