"""What every loader provides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

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
