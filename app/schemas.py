"""Pydantic models at the HTTP boundary, named by role. A public model that mirrors a record
reads it by attribute (`model_validate(record)`); code builds only the shapes that differ."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from core.answer.service import Answer
from core.catalog.records import Conversation, Job, JobStage, JobState
from core.types import ChunkFlag

# A document's id as the API shows it (sha256 hex); stored with a conversation.
DocumentId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[0-9A-Za-z_-]+$")]

# A collection's name: one path segment, no control characters (PostgreSQL text refuses NUL).
CollectionName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^/\\\x00-\x1f]+$")]


class CollectionCreate(BaseModel):
    name: CollectionName
    chunk_tokens: int | None = Field(default=None, ge=32, le=254)
    chunk_overlap_tokens: int | None = Field(default=None, ge=0, le=200)


# Passages an answer reads when neither the request nor the knowledge base says.
DEFAULT_TOP_K = 5
TopK = Annotated[int, Field(ge=1, le=50)]


class CollectionSettings(BaseModel):
    """What a user may change for one knowledge base; a field left null follows the service."""

    model_config = ConfigDict(extra="forbid")

    top_k: TopK | None = Field(
        default=None, description=f"passages an answer reads; null: {DEFAULT_TOP_K}"
    )
    # The least evidence (QueryResponse.evidence) its answers need, fitted by `zhiku eval
    # --calibrate`; null: the service's threshold for the question's language.
    abstain_threshold: float | None = Field(default=None, ge=0, le=1)


class CollectionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CollectionName | None = None
    settings: CollectionSettings | None = None


class CollectionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    embedding_model: str
    chunk_tokens: int
    chunk_overlap_tokens: int
    created_at: float
    documents: int
    chunks: int
    settings: CollectionSettings

    @field_validator("settings", mode="before")
    @classmethod
    def _known_settings(cls, value: Any) -> Any:
        # A key a later release stores is not this one's to show, nor a reason to fail.
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k in CollectionSettings.model_fields}
        return value


class AnswerSettings(BaseModel):
    """How this service answers, for every knowledge base: shown, set by its operator."""

    backend: str
    default_top_k: int
    # The least share of a question's words the best sentence must hold, per question
    # language, below which the answer is "not in the documents".
    abstention_thresholds: dict[str, float]


class CollectionSettingsPublic(BaseModel):
    # The top_k its answers read now: its own, else the service's default.
    top_k: int
    # The abstention threshold its answers use: its own, else null (the service's per language).
    abstain_threshold: float | None
    stored: CollectionSettings
    service: AnswerSettings


class DocumentPublic(BaseModel):
    # The status enum is read as its plain string value.
    model_config = ConfigDict(from_attributes=True)

    id: str
    filename: str
    media_type: str
    status: str
    error: str | None = Field(description="Why the document failed, in English")
    error_code: str | None = Field(
        description="The failure's stable code, for clients that say it in their own words;"
        " null where the document has not failed, or failed before codes were recorded"
    )
    error_params: dict[str, Any] | None = Field(description="The values the code's text names")
    pages: int
    chunks: int
    size: int
    created_at: float
    updated_at: float


class Progress(BaseModel):
    pages_done: int
    pages_total: int
    chunks_embedded: int
    chunks_total: int


class JobPublic(BaseModel):
    id: str
    document_id: str
    state: str
    stage: str
    attempts: int
    # Attempts that failed by the document's fault; a restart of the worker is not one.
    failures: int
    progress: Progress
    error: str | None
    error_code: str | None
    error_params: dict[str, Any] | None
    eta_seconds: float | None
    created_at: float
    updated_at: float
    finished_at: float | None

    @classmethod
    def of(cls, j: Job) -> JobPublic:
        return cls(
            id=j.id,
            document_id=j.document_id,
            state=j.state.value,
            stage=j.stage.value,
            attempts=j.attempts,
            failures=j.failures,
            progress=Progress(
                pages_done=j.pages_done,
                pages_total=j.pages_total,
                chunks_embedded=j.chunks_done,
                chunks_total=j.chunks_total,
            ),
            error=j.error,
            error_code=j.error_code,
            error_params=j.error_params,
            eta_seconds=eta_seconds(j),
            created_at=j.created_at,
            updated_at=j.updated_at,
            finished_at=j.finished_at,
        )


def eta_seconds(j: Job) -> float | None:
    """From the job's own pace so far: parsing counts for a tenth of the work, embedding for
    the rest (what this CPU-bound pipeline spends). None until there is a pace to go by, and
    while a claimed job waits for the embedder: a worker claims jobs in batches, and the time a
    job waits there is no pace (the estimate would climb while it waits)."""
    if j.state != JobState.RUNNING or j.started_at is None:
        return None
    if j.stage == JobStage.EMBED and j.chunks_done == 0:
        return None
    parsed = j.pages_done / j.pages_total if j.pages_total else 0.0
    embedded = j.chunks_done / j.chunks_total if j.chunks_total else 0.0
    done = 0.1 * parsed + 0.9 * embedded
    if done <= 0:
        return None
    elapsed = time.time() - j.started_at
    return round(elapsed * (1 - done) / done, 1)


class UploadAccepted(BaseModel):
    document: DocumentPublic
    job: JobPublic
    created: bool


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=20_000)
    top_k: TopK | None = Field(default=None, description="null: the knowledge base's setting")
    document_ids: list[str] | None = Field(default=None, max_length=1000)
    stream: bool = False

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("question_empty", "the question is empty")
        return value


class CitationPublic(BaseModel):
    # A verified citation, without its support score: the API keeps its own field list rather
    # than follow core's dataclass, so a field added there does not change the API unseen.
    model_config = ConfigDict(from_attributes=True)

    n: int
    document_id: str
    filename: str
    page: int | None
    quote: str
    verified: bool
    # Citations stored with a conversation before it was added have none: the page then finds
    # the quote in the chunk's text.
    spans: list[tuple[int, int]] = Field(
        default_factory=list,
        description="For each [n] of the answer, in order: where the sentence it quotes is in "
        "the text of the chunk with the same n, as [start, end) offsets in Unicode code points. "
        "A marker whose sentence shares no word with the chunk has none.",
    )


class ChunkPublic(BaseModel):
    n: int
    id: str
    document_id: str
    filename: str
    page: int | None
    heading_path: list[str]
    text: str
    score: float
    # What a reader should know about the text, by name: "instruction" (a sentence in it
    # speaks to the model as an instruction: data, never obeyed), "ocr".
    flags: list[str] = Field(default_factory=list)

    @field_validator("flags", mode="before")
    @classmethod
    def _flag_names(cls, value: Any) -> Any:
        if isinstance(value, int):
            return [f.name.lower() for f in ChunkFlag if f.name and f & value]
        return value


class QueryResponse(BaseModel):
    answer: str
    abstained: bool
    citations: list[CitationPublic]
    chunks: list[ChunkPublic]
    backend: str
    timings: dict[str, float]
    # The best sentence's share of the question's words: below the abstention threshold, the
    # answer is "not in the documents".
    evidence: float

    @classmethod
    def of(cls, a: Answer) -> QueryResponse:
        return cls(
            answer=a.text,
            abstained=a.abstained,
            citations=citations_public(a),
            chunks=chunks_public(a),
            backend=a.backend,
            timings=a.timings,
            evidence=round(a.evidence, 4),
        )


def citations_public(a: Answer) -> list[CitationPublic]:
    return [CitationPublic.model_validate(c) for c in a.citations]


def citations_json(a: Answer) -> list[dict[str, Any]]:
    """The citations as stored with a conversation and sent in streams."""
    return [c.model_dump() for c in citations_public(a)]


def chunks_public(a: Answer) -> list[ChunkPublic]:
    """The chunk's own public fields read from it (a new one needs only a line in ChunkPublic),
    with its number, file name and score."""
    return [
        ChunkPublic.model_validate(
            {**vars(p.chunk), "n": p.n, "filename": p.filename, "score": round(f.score, 6)}
        )
        for p, f in zip(a.passages, a.chunks, strict=True)
    ]


class ChatMessageIn(BaseModel):
    role: Literal["user", "assistant", "system"]
    # Messages are stored, and a PostgreSQL text column refuses NUL: a 422, not a 500.
    content: str = Field(max_length=20_000, pattern=r"^[^\x00]*$")


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessageIn] = Field(min_length=1, max_length=200)
    conversation_id: str | None = Field(default=None, max_length=64)
    top_k: TopK | None = Field(default=None, description="null: the knowledge base's setting")
    document_ids: list[DocumentId] | None = Field(
        default=None,
        max_length=1000,
        description="search only these documents; kept on the conversation, so a follow-up"
        " that sends none keeps the last ones ([]: all documents again)",
    )
    stream: bool = False

    @field_validator("messages")
    @classmethod
    def _ends_with_a_question(cls, value: list[ChatMessageIn]) -> list[ChatMessageIn]:
        if value[-1].role != "user" or not value[-1].content.strip():
            raise PydanticCustomError(
                "last_message_not_user", "the last message must be a non-empty user message"
            )
        return value


class ChatResponse(QueryResponse):
    conversation_id: str
    question: str


class RegenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    top_k: TopK | None = Field(default=None, description="null: the knowledge base's setting")
    stream: bool = False


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\x00]*$")
    document_ids: list[DocumentId] | None = Field(
        default=None, max_length=1000, description="[]: all documents of the knowledge base"
    )

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("the title is empty")
        return value


class MessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    role: str
    content: str
    citations: list[dict[str, Any]]
    created_at: float


class ConversationPublic(BaseModel):
    # `messages` is null in a list of conversations, which reads none.
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    created_at: float
    updated_at: float
    # The documents its questions search; null: all of the knowledge base's.
    document_ids: list[str] | None = None
    messages: list[MessagePublic] | None = None

    @classmethod
    def summary(cls, c: Conversation) -> ConversationPublic:
        return cls.model_validate(c).model_copy(update={"messages": None})


# A model name's part: words joined by single dots, so never `..` and never a leading dot.
_NAME_PART = r"[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*"


class ReembedCreate(BaseModel):
    # A key of core/embedding's EMBEDDERS or a sentence-transformers model in the local cache,
    # by name (`owner/model` at most): never a folder path, which the operator alone may name
    # in ZHIKU_EMBEDDING_MODEL.
    model: str = Field(min_length=1, max_length=200, pattern=rf"^{_NAME_PART}(/{_NAME_PART})?$")


class ReembedPublic(BaseModel):
    collection: str
    # The model queries use now: it changes only when every chunk has its new vector.
    embedding_model: str
    # `running` while a re-embedding is under way, `cancelled` in a cancel's answer, else `idle`.
    state: str
    # The model being embedded with; null when idle.
    target_model: str | None
    chunks_done: int
    chunks_total: int
