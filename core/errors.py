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
│   ├── UpstreamFailed
│   └── UpstreamTimeout
└── LoadError              a document's bytes could not be turned into text

Each error is built from a code of core/messages.py and its parameters, so a client gets
the same stable code and parameters in every language; the class picks the HTTP status.
"""

from __future__ import annotations

from typing import Any

from core.messages import Reason


def _rebuilt(
    cls: type[ZhikuError], code: str, detail: str | None, params: dict[str, Any]
) -> ZhikuError:
    error = cls.__new__(cls)
    ZhikuError.__init__(error, code, detail=detail, **params)
    return error


class ZhikuError(Exception):
    """`public` is what an HTTP client is told, rendered from `code` and `params`; `message`
    is for the operator (logs, the CLI): the `detail` given where it names internal
    addresses or paths that a client must not see, else the same text."""

    def __init__(self, code: str, /, *, detail: str | None = None, **params: Any) -> None:
        self.reason = Reason(code, params)
        self.public = self.reason.text
        self.message = detail or self.public
        self._detail = detail
        super().__init__(self.message)

    @property
    def code(self) -> str:
        return self.reason.code

    @property
    def params(self) -> dict[str, Any]:
        return self.reason.params

    def about_file(self, filename: str) -> ZhikuError:
        """The same error, said of one file of several: its messages start with the name."""
        return _rebuilt(type(self), self.code, self._detail, {**self.params, "file": filename})

    def __reduce__(self) -> Any:
        # Parser processes send their errors back pickled; the default would call
        # cls(message) and lose the code.
        return _rebuilt, (type(self), self.code, self._detail, self.params)


class _Operational(ZhikuError):
    """An error whose operator message names what a client must not learn (addresses, paths,
    settings' values): built from that message, and told to clients as `code` alone."""

    code_default: str

    def __init__(self, detail: str, /, code: str | None = None, **params: Any) -> None:
        super().__init__(code or self.code_default, detail=detail, **params)


class ConfigError(_Operational):
    code_default = "config_error"


class Unauthorized(ZhikuError):
    pass


class Forbidden(ZhikuError):
    pass


class NotFound(ZhikuError):
    pass


def collection_not_found(name: str) -> NotFound:
    """The same answer for a collection that does not exist and for one the caller may not
    read, so a key cannot learn which names exist."""
    return NotFound("collection_not_found", name=name)


def job_not_found(job_id: str) -> NotFound:
    """Likewise for a job of a collection the caller may not read."""
    return NotFound("job_not_found", job=job_id)


class Conflict(ZhikuError):
    pass


class EmbeddingModelMismatch(Conflict):
    pass


class DataDirLocked(Conflict):
    pass


class TooLarge(ZhikuError):
    pass


class UnsupportedMedia(ZhikuError):
    pass


class InvalidInput(ZhikuError):
    pass


class ContentRefused(ZhikuError):
    pass


class BackendUnavailable(_Operational):
    # Store and server errors name their addresses and data paths; clients learn only the code.
    code_default = "backend_unavailable"


class UpstreamFailed(BackendUnavailable):
    code_default = "upstream_failed"


class UpstreamTimeout(BackendUnavailable):
    code_default = "upstream_timeout"


class LoadError(ZhikuError):
    pass
