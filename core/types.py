"""Plain data passed between the pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntFlag


@dataclass(frozen=True)
class Section:
    """A run of text with one location: a page (1-based, None for unpaged formats) and a
    heading path. `offset` is where the text starts within its page's text (or the whole
    text for unpaged formats), so chunk spans can point back into the source."""

    text: str
    page: int | None = None
    heading_path: tuple[str, ...] = ()
    offset: int = 0
    # ChunkFlag bits that every chunk cut from this section carries (OCR: read from a picture).
    flags: int = 0


@dataclass(frozen=True)
class LoadedDocument:
    media_type: str
    pages: int
    sections: list[Section] = field(default_factory=list)


class ChunkFlag(IntFlag):
    """What a reader of a chunk should know about its text; stored as the chunk's `flags`."""

    # A sentence in it speaks to the model or the reader as an instruction ("ignore the above").
    INSTRUCTION = 1
    # Its text was read from an image by OCR.
    OCR = 2


@dataclass(frozen=True)
class ChunkDraft:
    """A chunk before it is stored: ids and vectors come later."""

    seq: int
    text: str
    page: int | None
    heading_path: tuple[str, ...]
    start: int
    end: int
    tokens: int
    # ChunkFlag bits. Keyword-only, so that StoredChunk's own fields (which have no default)
    # can follow the draft's; records.RowReader passes it by name.
    flags: int = field(default=0, kw_only=True)
