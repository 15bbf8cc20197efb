"""What every loader provides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from core.types import LoadedDocument

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
    """The pages a loader read so far, in order; `add` records the next one. This one keeps
    them in memory; ingest/checkpoint.py keeps them on disk so that a restart resumes."""

    def __init__(self) -> None:
        self.pages: list[str] = []

    def add(self, text: str) -> None:
        self.pages.append(text)


@runtime_checkable
class ResumableLoader(Protocol):
    """A loader of page after page that can start after the pages a checkpoint holds."""

    def load_resuming(
        self, data: bytes, progress: PageProgress, checkpoint: PageCheckpoint
    ) -> LoadedDocument:
        """As `load`, reading only the pages `checkpoint` lacks and adding each to it."""
        ...
