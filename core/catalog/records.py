"""Rows of the catalog, as frozen dataclasses, and how either database's rows become them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


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


@dataclass(frozen=True)
class Document:
    collection_id: str
    id: str
    filename: str
    media_type: str
    size: int
    status: DocumentStatus
    error: str | None
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
    failure: str | None = None


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
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None


@dataclass(frozen=True)
class StoredChunk:
    rowid: int
    collection_id: str
    document_id: str
    id: str
    seq: int
    text: str
    page: int | None
    heading_path: tuple[str, ...]
    start: int
    end: int
    tokens: int


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


def chunk_id(document_id: str, seq: int) -> str:
    """Derived from document and position, so a second run of a job rewrites the same ids."""
    return f"{document_id[:32]}-{seq:06d}"


class Row(Protocol):
    """A database row by column name: sqlite3.Row or a psycopg dict row."""

    def __getitem__(self, key: str, /) -> Any: ...


def collection_of(r: Row) -> Collection:
    return Collection(
        id=r["id"],
        name=r["name"],
        embedding_model=r["embedding_model"],
        chunk_tokens=r["chunk_tokens"],
        chunk_overlap_tokens=r["chunk_overlap_tokens"],
        created_at=r["created_at"],
        documents=r["docs"],
        chunks=r["chunk_count"],
    )


def document_of(r: Row) -> Document:
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


def job_of(r: Row) -> Job:
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


def chunk_of(r: Row) -> StoredChunk:
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


def conversation_of(r: Row, messages: list[Message] | None = None) -> Conversation:
    return Conversation(
        r["id"], r["collection_id"], r["title"], r["created_at"], r["updated_at"], messages or []
    )


def message_of(r: Row) -> Message:
    return Message(r["role"], r["content"], json.loads(r["citations"]), r["created_at"])
