"""OCR of the PDF pages whose text layer is missing or unreadable: each is rendered with PDFium
(pypdfium2) and read by the OCR engine. Rendering, not taking the page's images out, because a
scan may be cut into strips, drawn in a codec pypdf cannot decode (JBIG2, CCITT), or covered
by vector drawings that are part of what the page says."""

from __future__ import annotations

import logging

import pypdfium2 as pdfium

from ingest.ocr.engine import Ocr
from ingest.ocr.pictures import PdfPictures, is_blank

log = logging.getLogger(__name__)


class PageOcr:
    """Reads pages of one PDF; `close` frees the rendering document."""

    def __init__(self, ocr: Ocr, data: bytes) -> None:
        self._ocr = ocr
        self._pictures = PdfPictures(data)

    def read(self, index: int) -> str:
        """The text of the page (0-based), "" for a blank page or one PDFium cannot draw."""
        try:
            picture = self._pictures.page(index)
        except pdfium.PdfiumError as exc:
            log.warning("pdf page %d: rendering for OCR failed: %s", index + 1, exc)
            return ""
        return "" if is_blank(picture) else self._ocr.read(picture)

    def close(self) -> None:
        self._pictures.close()
