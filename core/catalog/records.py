"""Rows of the catalog, as frozen dataclasses, and how either database's rows become them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from core.messages import Reason
from core.scopes import Scopes
from core.types import ChunkDraft

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


class DocumentStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    SEARCHABLE = "searchable"
    READY = "ready"
    FAILED = "failed"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobStage(StrEnum):
    PARSE = "parse"
    EMBED = "embed"


@dataclass(frozen=True)
class Collection:
    id: str
    name: str
    embedding_model: str
    chunk_tokens: int
    chunk_overlap_tokens: int
    created_at: float
    documents: int = 0
    chunks: int = 0
    vector_space: str | None = None
    # What a user changed for this knowledge base (app/schemas.py CollectionSettings); empty:
    # the service's defaults throughout.
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def space(self) -> str:
        """The vector space its queries read: named by its id until a re-embedding moves it."""
        return self.vector_space or self.id


@dataclass(frozen=True)
class Reembed:
    """A collection being embedded again with another model, into a vector space of its own."""

    collection_id: str
    model: str
    space: str
    created_at: float
    chunks_done: int
    chunks_total: int


@dataclass(frozen=True)
class ReembedChunk:
    rowid: int
    id: str
    document_id: str
    page: int | None
    seq: int
    text: str


@dataclass(frozen=True)
class Document:
    collection_id: str
    id: str
    filename: str
    media_type: str
    size: int
    status: DocumentStatus
    # The failure reason in English, and its code and parameters (core/messages.py); rows
    # failed before catalog revision 0005 have the text alone.
    error: str | None
    error_code: str | None
    error_params: dict[str, Any] | None
    pages: int
    chunks: int
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class NewDocument:
    """A document to record: `failure` records it as failed at once (too large, unsupported)."""

    collection_id: str
    document_id: str
    filename: str
    media_type: str
    size: int
    failure: Reason | None = None


@dataclass(frozen=True)
class Job:
    id: str
    collection_id: str
    document_id: str
    state: JobState
    stage: JobStage
    attempts: int
    pages_done: int
    pages_total: int
    chunks_done: int
    chunks_total: int
    error: str | None
    error_code: str | None
    error_params: dict[str, Any] | None
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    # Attempts that failed by the document's fault (`attempts` counts every claim).
    failures: int = 0


@dataclass(frozen=True)
class StoredChunk(ChunkDraft):
    """A stored chunk: its draft's fields, then where it is kept."""

    rowid: int
    collection_id: str
    document_id: str
    id: str


@dataclass(frozen=True)
class PassageChunk:
    """A chunk with its length in lexical terms and how often it holds some of them."""

    chunk: StoredChunk
    length: int
    counts: dict[str, int]


@dataclass(frozen=True)
class ScoredChunk:
    chunk: StoredChunk
    score: float


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
    # The documents its questions are limited to; None: all of the collection's.
    document_ids: list[str] | None = None


@dataclass(frozen=True)
class ApiKey:
    """A key kept in the catalog: its secret is stored only as a digest (core/keys.py)."""

    id: str
    name: str
    scopes: Scopes
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


def chunk_id(document_id: str, seq: int) -> str:
    """Derived from document and position, so a second run of a job rewrites the same ids."""
    return f"{document_id[:32]}-{seq:06d}"


class Row(Protocol):
    """A database row by column name: sqlite3.Row or a psycopg dict row."""

    def __getitem__(self, key: str, /) -> Any: ...


class RowReader(Generic[R]):
    """Builds a record from a row, one column per dataclass field: the field's name unless
    `columns` names another, its value as stored unless `parse` has a function for it: the
    dataclass stays the one declaration of a record's fields."""

    def __init__(
        self,
        record: type[R],
        columns: Mapping[str, str] | None = None,
        parse: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        columns, parse = columns or {}, parse or {}
        self._record = record
        plan = [(f, columns.get(f.name, f.name), parse.get(f.name)) for f in fields(record)]
        self._plan = [(column, to) for f, column, to in plan if not f.kw_only]
        self._named = [(f.name, column, to) for f, column, to in plan if f.kw_only]

    def __call__(self, r: Row) -> R:
        # Positional, in field order: as fast as a hand-written constructor call, which
        # matters for the chunks every search reads; keyword-only fields by name.
        return self._record(
            *[r[column] if to is None else to(r[column]) for column, to in self._plan],
            **{name: r[c] if to is None else to(r[c]) for name, c, to in self._named},
        )


# Collections are read with their counts of documents and of live chunks.
collection_of = RowReader(
    Collection,
    columns={"documents": "docs", "chunks": "chunk_count"},
    parse={"settings": lambda stored: json.loads(stored) if stored else {}},
)


def _params(stored: str | None) -> dict[str, Any] | None:
    return None if stored is None else dict(json.loads(stored))


def reason_columns(reason: Reason) -> tuple[str, str, str]:
    """A failure as stored: its English text, code and parameters (as JSON)."""
    return reason.text, reason.code, json.dumps(reason.params, ensure_ascii=False)


document_of = RowReader(Document, parse={"status": DocumentStatus, "error_params": _params})
job_of = RowReader(Job, parse={"state": JobState, "stage": JobStage, "error_params": _params})
api_key_of = RowReader(ApiKey, parse={"scopes": Scopes.from_json})

# Chunk fields stored under another column name (`end` is an SQL keyword); the heading path is
# stored as JSON. core/catalog/chunk_columns.py writes chunks by the same names.
CHUNK_COLUMN_NAMES = {"start": "span_start", "end": "span_end"}
chunk_of = RowReader(
    StoredChunk,
    columns=CHUNK_COLUMN_NAMES,
    parse={"heading_path": lambda stored: tuple(json.loads(stored))},
)


def conversation_of(r: Row, messages: list[Message] | None = None) -> Conversation:
    documents = r["document_ids"]
    return Conversation(
        r["id"],
        r["collection_id"],
        r["title"],
        r["created_at"],
        r["updated_at"],
        messages or [],
        json.loads(documents) if documents is not None else None,
    )


message_of = RowReader(Message, parse={"citations": json.loads})
