"""The OCR engine: RapidOCR with the PP-OCRv6 (small) detection and recognition models its
wheel ships, Chinese and English in one model, run by ONNX Runtime. Loaded on a process's
first picture, so parser processes that never meet one never map it."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from PIL import Image

from core.settings import Settings
from ingest.ocr.layout import TextBox, page_text

log = logging.getLogger(__name__)


class Ocr(Protocol):
    def read(self, picture: Image.Image) -> str:
        """The text of an RGB picture in reading order, lines joined into paragraphs."""
        ...


class RapidOcr:
    def __init__(self) -> None:
        self._engine: Any = None

    def load(self) -> Any:
        """The engine, made at the first call."""
        if self._engine is None:
            # Imported here: opencv and the models are not for processes that never OCR.
            from rapidocr import RapidOCR

            self._engine = RapidOCR(params={"Global.log_level": "error"})
        return self._engine

    def read(self, picture: Image.Image) -> str:
        result = self.load()(picture)
        if result.boxes is None or result.txts is None:
            return ""
        boxes = [
            TextBox(
                text=text,
                left=float(box[:, 0].min()),
                top=float(box[:, 1].min()),
                right=float(box[:, 0].max()),
                bottom=float(box[:, 1].max()),
            )
            for box, text in zip(result.boxes, result.txts, strict=True)
            if text.strip()
        ]
        return page_text(boxes)


def open_ocr(settings: Settings) -> Ocr | None:
    """The engine, or None when ZHIKU_OCR turns OCR off."""
    return RapidOcr() if settings.ocr else None
