"""The one Settings object, read from ZHIKU_* environment variables and `.env`."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


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

    # Comma-separated keys accepted as `Authorization: Bearer KEY`; with none set, anyone may call.
    api_keys: SecretStr = SecretStr("")
    # Whether requests without a key are served; unset: only when no keys are set.
    allow_anonymous: bool | None = None

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

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError("ZHIKU_CHUNK_OVERLAP_TOKENS must be smaller than ZHIKU_CHUNK_TOKENS")
        return self

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

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
    def anonymous_allowed(self) -> bool:
        if self.allow_anonymous is not None:
            return self.allow_anonymous
        return not self.accepted_api_keys

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
