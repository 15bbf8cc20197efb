"""Rows of the catalog, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
class ScoredChunk:
    chunk: StoredChunk
    score: float
