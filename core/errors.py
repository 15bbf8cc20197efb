"""Zhiku's error tree; `app/errors.py` is the only place that maps it to HTTP statuses.

ZhikuError
├── ConfigError            a setting is missing or inconsistent
├── Unauthorized           a request lacks a valid API key
├── Forbidden              the key may read the collection but not do this to it
├── NotFound               a collection, document or job does not exist
├── Conflict               the request clashes with stored state
│   ├── EmbeddingModelMismatch
│   └── DataDirLocked      another process owns the embedded data directory
├── TooLarge               an upload is over ZHIKU_MAX_UPLOAD_MB
├── UnsupportedMedia       the bytes are not a format we can read
├── InvalidInput           a request value is malformed
├── ContentRefused         a question holds a term of the content safety lists
├── BackendUnavailable     a store, model or remote server failed
└── LoadError              a document's bytes could not be turned into text
"""

from __future__ import annotations


class ZhikuError(Exception):
    """Base class: every error has a stable `code` and a message that says how to fix it.

    `message` is for the operator (logs, the CLI) and may name internal addresses; `public`
    is what an HTTP client is told: given where the message names them, else the class's
    `public_message`, else the message itself."""

    code = "error"
    public_message: str | None = None

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self._public = public

    @property
    def public(self) -> str:
        return self._public or self.public_message or self.message


class ConfigError(ZhikuError):
    code = "config_error"
    public_message = "the service is misconfigured; the service log says how"


class Unauthorized(ZhikuError):
    code = "unauthorized"


class Forbidden(ZhikuError):
    code = "forbidden"


class NotFound(ZhikuError):
    code = "not_found"


def collection_not_found(name: str) -> NotFound:
    """The same answer for a collection that does not exist and for one the caller may not
    read, so a key cannot learn which names exist."""
    return NotFound(f"collection {name!r} does not exist; create it first")


def job_not_found(job_id: str) -> NotFound:
    """Likewise for a job of a collection the caller may not read."""
    return NotFound(f"job {job_id!r} does not exist")


class Conflict(ZhikuError):
    code = "conflict"


class EmbeddingModelMismatch(Conflict):
    code = "embedding_model_mismatch"


class DataDirLocked(Conflict):
    code = "data_dir_locked"


class TooLarge(ZhikuError):
    code = "too_large"


class UnsupportedMedia(ZhikuError):
    code = "unsupported_media_type"


class InvalidInput(ZhikuError):
    code = "invalid_input"


class ContentRefused(ZhikuError):
    code = "content_refused"


class BackendUnavailable(ZhikuError):
    code = "backend_unavailable"
    # Store and server errors name their addresses and data paths; clients learn only this.
    public_message = "a storage backend of the service failed; the service log has the details"


class UpstreamFailed(BackendUnavailable):
    code = "upstream_failed"
    public_message = "the language model server failed; the service log has the details"


class UpstreamTimeout(BackendUnavailable):
    code = "upstream_timeout"
    public_message = "the language model server did not answer in time; try again later"


class LoadError(ZhikuError):
    code = "load_error"
