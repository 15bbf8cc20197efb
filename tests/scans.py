"""Scanned pages made from real ones: a text-layer page of a shared PDF rendered to a picture,
as a scanner would give it, then saved as PNG, JPEG or an image-only PDF."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

# A common scanning resolution.
DPI = 150


def scanned_page(pdf: Path, page: int, dpi: int = DPI) -> Image.Image:
    """Page `page` (1-based) of the PDF as an RGB picture."""
    document = pdfium.PdfDocument(pdf.read_bytes())
    try:
        rendered = document[page - 1].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        document.close()
    return rendered


def picture_bytes(picture: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    picture.save(out, kind)
    return out.getvalue()


def image_only_pdf(pages: list[Image.Image], dpi: int = DPI) -> bytes:
    """A PDF of the pictures, one per page, with no text layer: what a scanner writes."""
    out = io.BytesIO()
    pages[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=pages[1:])
    return out.getvalue()
