"""Taking files in: checked, stored by content, recorded with their job in one transaction.
A file that cannot be ingested is recorded as failed with its reason, so a batch reports it
beside the files that succeed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from core.blobs import BlobStore
from core.catalog import SqliteCatalog
from core.catalog.records import Collection, Document, Job
from core.errors import EmbeddingModelMismatch, LoadError, NotFound, TooLarge, UnsupportedMedia
from core.settings import Settings
from ingest.sniff import sniff_media_type

UNKNOWN_MEDIA = "application/octet-stream"


@dataclass(frozen=True)
class AddResult:
    document: Document
    job: Job
    created: bool


def printable(name: str) -> str:
    """A filename as given, with control characters made visible for terminals and logs."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in name)


class Intake:
    def __init__(self, settings: Settings, catalog: SqliteCatalog, blobs: BlobStore) -> None:
        self._settings = settings
        self._catalog = catalog
        self._blobs = blobs

    def collection(self, name: str, create: bool = True) -> Collection:
        try:
            found = self._catalog.get_collection(name)
        except NotFound:
            if not create:
                raise
            return self._catalog.create_collection(
                name,
                self._settings.embedding_model,
                self._settings.chunk_tokens,
                self._settings.chunk_overlap_tokens,
            )
        if found.embedding_model != self._settings.embedding_model:
            raise EmbeddingModelMismatch(
                f"collection {name!r} was created with embedding model "
                f"{found.embedding_model!r} but this process uses "
                f"{self._settings.embedding_model!r}; set ZHIKU_EMBEDDING_MODEL to match"
            )
        return found

    def inspect(self, filename: str, data: bytes) -> str:
        """The media type of acceptable bytes. Raises TooLarge, UnsupportedMedia or LoadError."""
        limit = self._settings.max_upload_bytes
        if len(data) > limit:
            raise TooLarge(_too_large(len(data), self._settings.max_upload_mb))
        return sniff_media_type(data, filename)

    def add_bytes(self, collection: Collection, filename: str, data: bytes) -> AddResult:
        digest = hashlib.sha256(data).hexdigest()
        try:
            media_type = self.inspect(filename, data)
        except (TooLarge, UnsupportedMedia, LoadError) as exc:
            return self._record(collection, digest, filename, UNKNOWN_MEDIA, len(data), exc.message)
        # The blob is durable before its row exists: a crash in between leaves an unreferenced
        # file, never a document without its bytes.
        self._blobs.put(data)
        return self._record(collection, digest, filename, media_type, len(data), None)

    def add_path(self, collection: Collection, path: Path) -> AddResult:
        size = path.stat().st_size
        if size > self._settings.max_upload_bytes:
            digest = hashlib.sha256()
            with path.open("rb") as source:
                for block in iter(lambda: source.read(1 << 20), b""):
                    digest.update(block)
            reason = _too_large(size, self._settings.max_upload_mb)
            return self._record(
                collection, digest.hexdigest(), path.name, UNKNOWN_MEDIA, size, reason
            )
        return self.add_bytes(collection, path.name, path.read_bytes())

    def _record(
        self,
        collection: Collection,
        digest: str,
        filename: str,
        media_type: str,
        size: int,
        failure: str | None,
    ) -> AddResult:
        document, job, created = self._catalog.add_document(
            collection.id, digest, filename, media_type, size, failure
        )
        return AddResult(document, job, created)


def _too_large(size: int, limit_mb: float) -> str:
    return (
        f"the file is {size / 1048576:.1f} MB, over the {limit_mb:g} MB limit (ZHIKU_MAX_UPLOAD_MB)"
    )
