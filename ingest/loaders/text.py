"""Load a plain-text file as one section."""

from __future__ import annotations

from core.errors import LoadError
from core.types import LoadedDocument, Section
from ingest.loaders.protocol import PageProgress
from ingest.text_encoding import decode_text

MEDIA_TYPE = "text/plain"


class TextLoader:
    def load(self, data: bytes, progress: PageProgress) -> LoadedDocument:
        text = decode_text(data)
        stripped = text.strip()
        if not stripped:
            raise LoadError("file_no_text")
        offset = len(text) - len(text.lstrip())
        progress(1, 1)
        return LoadedDocument(
            media_type=MEDIA_TYPE,
            pages=1,
            sections=[Section(text=stripped, offset=offset)],
        )
