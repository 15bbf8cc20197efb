"""Conversations and their messages, in the catalog's database, so a reload, another client
or another replica continues the same conversation and condensing reads the history from here:
the Protocol, and its SQL, which runs unchanged on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Protocol

from core.catalog.records import Conversation, Message, conversation_of, message_of
from core.errors import NotFound

if TYPE_CHECKING:
    from core.catalog.sql import SqlCatalog
    from core.catalog.sql.base import Db

_TITLE_CHARS = 60


class Conversations(Protocol):
    """Chat conversations, kept beside the catalog so every replica continues the same one."""

    def create(
        self, collection_id: str, first_question: str, document_ids: list[str] | None = None
    ) -> Conversation:
        """A new, empty conversation titled after its first question, its questions limited
        to `document_ids` (None: all). Raises nothing else."""
        ...

    def get(self, collection_id: str, conversation_id: str) -> Conversation:
        """With its messages in order. Raises NotFound (also for another collection's)."""
        ...

    def in_collection(self, collection_id: str) -> list[Conversation]:
        """Without messages, most recently used first. Raises nothing else."""
        ...

    def append(self, collection_id: str, conversation_id: str, messages: list[Message]) -> None:
        """Raises NotFound when the conversation does not exist in this collection."""
        ...

    def rename(self, collection_id: str, conversation_id: str, title: str) -> Conversation:
        """Raises NotFound when the conversation does not exist in this collection."""
        ...

    def limit_to(
        self, collection_id: str, conversation_id: str, document_ids: list[str] | None
    ) -> Conversation:
        """Its questions from now on search only `document_ids` (None: all). Raises NotFound."""
        ...

    def replace_last_answer(
        self, collection_id: str, conversation_id: str, message: Message
    ) -> None:
        """The messages after the last user message (its answer) are replaced by `message`, in
        one transaction. Raises NotFound."""
        ...

    def delete(self, collection_id: str, conversation_id: str) -> None:
        """Raises NotFound when the conversation does not exist in this collection."""
        ...


def _title(text: str) -> str:
    return " ".join(text.split())[:_TITLE_CHARS] or "…"


def _documents_json(document_ids: list[str] | None) -> str | None:
    return None if document_ids is None else json.dumps(document_ids)


class SqlConversations:
    def __init__(self, catalog: SqlCatalog) -> None:
        self._catalog = catalog

    def create(
        self, collection_id: str, first_question: str, document_ids: list[str] | None = None
    ) -> Conversation:
        now = time.time()
        title = _title(first_question)
        conversation_id = uuid.uuid4().hex
        with self._catalog.transaction() as db:
            db.execute(
                "INSERT INTO conversations"
                " (id, collection_id, title, created_at, updated_at, document_ids)"
                " VALUES (?,?,?,?,?,?)",
                (conversation_id, collection_id, title, now, now, _documents_json(document_ids)),
            )
        return self.get(collection_id, conversation_id)

    def get(self, collection_id: str, conversation_id: str) -> Conversation:
        with self._catalog.reading() as db:
            row = db.execute(
                "SELECT * FROM conversations WHERE id=? AND collection_id=?",
                (conversation_id, collection_id),
            ).fetchone()
            if row is None:
                raise NotFound("conversation_not_found", conversation=conversation_id)
            messages = db.execute(
                "SELECT * FROM messages WHERE conversation_id=? ORDER BY rowid", (conversation_id,)
            ).fetchall()
        return conversation_of(row, [message_of(m) for m in messages])

    def in_collection(self, collection_id: str) -> list[Conversation]:
        with self._catalog.reading() as db:
            rows = db.execute(
                "SELECT * FROM conversations WHERE collection_id=? ORDER BY updated_at DESC",
                (collection_id,),
            ).fetchall()
        return [conversation_of(r) for r in rows]

    def append(self, collection_id: str, conversation_id: str, messages: list[Message]) -> None:
        self.get(collection_id, conversation_id)
        with self._catalog.transaction() as db:
            _add_messages(db, conversation_id, messages)

    def rename(self, collection_id: str, conversation_id: str, title: str) -> Conversation:
        self._update(collection_id, conversation_id, "title", _title(title))
        return self.get(collection_id, conversation_id)

    def limit_to(
        self, collection_id: str, conversation_id: str, document_ids: list[str] | None
    ) -> Conversation:
        self._update(collection_id, conversation_id, "document_ids", _documents_json(document_ids))
        return self.get(collection_id, conversation_id)

    def replace_last_answer(
        self, collection_id: str, conversation_id: str, message: Message
    ) -> None:
        """What follows the last question gives way to `message`, in one transaction."""
        self.get(collection_id, conversation_id)
        with self._catalog.transaction() as db:
            last = db.execute(
                "SELECT max(rowid) AS r FROM messages WHERE conversation_id=? AND role='user'",
                (conversation_id,),
            ).fetchone()
            db.execute(
                "DELETE FROM messages WHERE conversation_id=? AND rowid>?",
                (conversation_id, last["r"] if last["r"] is not None else 0),
            )
            _add_messages(db, conversation_id, [message])

    def _update(self, collection_id: str, conversation_id: str, column: str, value: object) -> None:
        with self._catalog.transaction() as db:
            changed = db.execute(
                f"UPDATE conversations SET {column}=? WHERE id=? AND collection_id=?",
                (value, conversation_id, collection_id),
            )
            if changed.rowcount != 1:
                raise NotFound("conversation_not_found", conversation=conversation_id)

    def delete(self, collection_id: str, conversation_id: str) -> None:
        self.get(collection_id, conversation_id)
        with self._catalog.transaction() as db:
            db.execute("DELETE FROM messages WHERE conversation_id=?", (conversation_id,))
            db.execute("DELETE FROM conversations WHERE id=?", (conversation_id,))


def _add_messages(db: Db, conversation_id: str, messages: list[Message]) -> None:
    """Append messages to a conversation, which counts as updated now."""
    now = time.time()
    db.executemany(
        "INSERT INTO messages (conversation_id, role, content, citations, created_at)"
        " VALUES (?,?,?,?,?)",
        [
            (
                conversation_id,
                m.role,
                # PostgreSQL text refuses NUL, which a model's output may hold.
                m.content.replace("\x00", ""),
                json.dumps(m.citations, ensure_ascii=False),
                now,
            )
            for m in messages
        ],
    )
    db.execute("UPDATE conversations SET updated_at=? WHERE id=?", (now, conversation_id))
