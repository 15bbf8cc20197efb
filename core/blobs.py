"""Uploaded files, stored by the sha256 of their bytes: never by the client's filename, so
`../`, NUL or control characters in a name cannot reach the filesystem."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from core.errors import NotFound

_FSYNC_EACH = 4


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str) -> Path:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise NotFound("stored_file_missing", digest=digest)
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        return self.put_many([data])[0]

    def put_many(self, items: Sequence[bytes]) -> list[str]:
        """Store bytes durably (write, rename, flush to disk) and return their sha256s."""
        digests = []
        written = []
        for data in items:
            digest = hashlib.sha256(data).hexdigest()
            digests.append(digest)
            path = self._path(digest)
            if path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    if len(items) <= _FSYNC_EACH:
                        out.flush()
                        os.fsync(out.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            written.append(path)
        if written and len(items) > _FSYNC_EACH:
            # One flush of everything costs about what one fsync does; a batch of hundreds of
            # small files would otherwise spend seconds in per-file fsyncs.
            os.sync()
        return digests

    def get(self, digest: str) -> bytes:
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            raise NotFound(
                "stored_file_missing",
                detail=f"the stored file {digest} is missing from {self.root}",
                digest=digest,
            ) from None

    def delete(self, digest: str) -> None:
        self._path(digest).unlink(missing_ok=True)
