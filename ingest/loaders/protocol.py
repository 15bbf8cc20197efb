"""What every loader provides."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from core.types import LoadedDocument

if TYPE_CHECKING:
    from ingest.ocr.engine import Ocr

PageProgress = Callable[[int, int], None]
"""Called with (pages done, pages in all) as a loader advances, ending with (pages, pages)."""


class Loader(Protocol):
    def load(self, data: bytes, progress: PageProgress) -> LoadedDocument:
        """Turn a file's bytes into sections of text in reading order.

        Raises `core.errors.LoadError` with a reason a user can act on (encrypted, corrupt,
        no extractable text, undecodable) when the bytes cannot be read.
        """
        ...


class PageCheckpoint:
    """The pages a loader read so far, in order; `add` records the next one, and whether OCR
    read it (`ocr` holds their 0-based numbers). This one keeps them in memory;
    ingest/checkpoint.py keeps them on disk so that a restart resumes."""

    def __init__(self) -> None:
        self.pages: list[str] = []
        self.ocr: set[int] = set()

    def add(self, text: str, ocr: bool = False) -> None:
        if ocr:
            self.ocr.add(len(self.pages))
        self.pages.append(text)


@runtime_checkable
class ResumableLoader(Protocol):
    """A loader of page after page that can start after the pages a checkpoint holds."""

    def load_resuming(
        self, data: bytes, progress: PageProgress, checkpoint: PageCheckpoint
    ) -> LoadedDocument:
        """As `load`, reading only the pages `checkpoint` lacks and adding each to it."""
        ...


@runtime_checkable
class ReadsPictures(Protocol):
    """A loader that reads pictures (scanned pages, photos) when given an OCR engine; without
    one (ZHIKU_OCR off) it fails such a document with a reason."""

    def use_ocr(self, ocr: Ocr | None) -> None: ...
