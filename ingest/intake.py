"""Taking files in: checked, stored by content, recorded with their job in one transaction.
A file that cannot be ingested is recorded as failed with its reason, so a batch reports it
beside the files that succeed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.blobs import BlobStore
from core.catalog import Catalog
from core.catalog.records import Collection, Document, Job, JobState, NewDocument
from core.errors import LoadError, TooLarge, UnsupportedMedia
from core.settings import Settings
from ingest.sniff import sniff_media_type

UNKNOWN_MEDIA = "application/octet-stream"
_BATCH_FILES = 256
_BATCH_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class AddResult:
    document: Document
    job: Job
    created: bool


def printable(name: str) -> str:
    """A filename as given, with control characters made visible for terminals and logs."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in name)


class Intake:
    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        blobs: BlobStore,
        notify: Callable[[], None],
    ) -> None:
        self._settings = settings
        self._catalog = catalog
        self._blobs = blobs
        self._notify = notify

    def inspect(self, filename: str, data: bytes) -> str:
        """The media type of acceptable bytes. Raises TooLarge, UnsupportedMedia or LoadError."""
        limit = self._settings.max_upload_bytes
        if len(data) > limit:
            raise _too_large(len(data), self._settings.max_upload_mb)
        return sniff_media_type(data, filename)

    def add_many(
        self, collection: Collection, files: Sequence[tuple[str, bytes]]
    ) -> list[AddResult]:
        """Files that cannot be ingested are recorded as failed with their reason."""
        records: list[NewDocument] = []
        accepted: list[bytes] = []
        for filename, data in files:
            digest = hashlib.sha256(data).hexdigest()
            try:
                media_type, failure = self.inspect(filename, data), None
                accepted.append(data)
            except (TooLarge, UnsupportedMedia, LoadError) as exc:
                media_type, failure = UNKNOWN_MEDIA, exc.reason
            records.append(
                NewDocument(collection.id, digest, filename, media_type, len(data), failure)
            )
        # The files are durable before their rows exist: a crash in between leaves
        # unreferenced files, never a document without its bytes.
        self._blobs.put_many(accepted)
        results = [AddResult(*added) for added in self._catalog.add_documents(records)]
        # After the commit: a worker woken earlier could miss the jobs.
        if any(r.job.state == JobState.QUEUED for r in results):
            self._notify()
        return results

    def add_paths(self, collection: Collection, paths: Sequence[Path]) -> list[AddResult]:
        """Read and record files in batches of bounded size, one transaction per batch."""
        results: list[AddResult] = []
        batch: list[tuple[str, bytes]] = []
        batch_bytes = 0
        for path in paths:
            size = path.stat().st_size
            if size > self._settings.max_upload_bytes:
                results.extend(self.add_many(collection, batch))
                batch, batch_bytes = [], 0
                results.append(self._record_too_large(collection, path, size))
                continue
            batch.append((path.name, path.read_bytes()))
            batch_bytes += size
            if len(batch) >= _BATCH_FILES or batch_bytes >= _BATCH_BYTES:
                results.extend(self.add_many(collection, batch))
                batch, batch_bytes = [], 0
        results.extend(self.add_many(collection, batch))
        return results

    def _record_too_large(self, collection: Collection, path: Path, size: int) -> AddResult:
        digest = hashlib.sha256()
        with path.open("rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
        reason = _too_large(size, self._settings.max_upload_mb).reason
        record = NewDocument(
            collection.id, digest.hexdigest(), path.name, UNKNOWN_MEDIA, size, reason
        )
        return AddResult(*self._catalog.add_documents([record])[0])


def _too_large(size: int, limit_mb: float) -> TooLarge:
    return TooLarge("file_too_large", size_mb=round(size / 1048576, 1), limit_mb=limit_mb)
