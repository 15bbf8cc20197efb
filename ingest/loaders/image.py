"""Load a picture (PNG, JPEG, TIFF, WebP) by OCR, one section per frame (a TIFF's pages)."""

from __future__ import annotations

from core.errors import LoadError
from core.types import ChunkFlag, LoadedDocument, Section
from ingest.loaders.protocol import PageCheckpoint, PageProgress
from ingest.ocr.engine import Ocr
from ingest.ocr.pictures import Frames, is_blank


class ImageLoader:
    def __init__(self) -> None:
        self._ocr: Ocr | None = None

    def use_ocr(self, ocr: Ocr | None) -> None:
        self._ocr = ocr

    def load(self, data: bytes, progress: PageProgress) -> LoadedDocument:
        return self.load_resuming(data, progress, PageCheckpoint())

    def load_resuming(
        self, data: bytes, progress: PageProgress, checkpoint: PageCheckpoint
    ) -> LoadedDocument:
        if self._ocr is None:
            raise LoadError("image_ocr_off")
        frames = Frames(data)
        texts = checkpoint.pages
        for index in range(len(texts), frames.count):
            frame = frames.frame(index)
            checkpoint.add("" if is_blank(frame) else self._ocr.read(frame), ocr=True)
            progress(index + 1, frames.count)
        sections = [
            Section(text=text, page=number, flags=ChunkFlag.OCR)
            for number, text in enumerate(texts, start=1)
            if text.strip()
        ]
        if not sections:
            raise LoadError("ocr_no_text", pages=frames.count)
        return LoadedDocument(media_type=frames.media_type, pages=frames.count, sections=sections)
