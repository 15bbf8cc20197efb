"""Pictures made ready for OCR: uploads decoded with Pillow under a pixel limit, and PDF pages
rendered with PDFium; both at most `MAX_SIDE` pixels on their long side, in RGB."""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib

import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import LoadError

# The OCR model reads text at this size (rapidocr scales larger pictures down to it): an A4
# page at about 170 dpi. Larger only costs memory and time.
MAX_SIDE = 2000
# A scanned page at 600 dpi is 35 megapixels, a phone photo 12 to 108; a picture past this is
# refused before it is decoded (decoded, 150 megapixels of RGB take 450 MB). Pillow refuses
# past twice its own limit (179 megapixels) as it opens the file.
MAX_PIXELS = 150_000_000
# PDF pages are rendered at this resolution, or less where the page is larger than A4.
_RENDER_DPI = 200
# Pillow's bomb error names the size the file declares.
_PILLOW_PIXELS = re.compile(r"\((\d+) pixels\)")
# Pillow reports a damaged file through these (and OSError: "image file is truncated").
_PILLOW_FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    zlib.error,
    UnidentifiedImageError,
    Image.DecompressionBombError,
)


class Frames:
    """An uploaded picture's frames (a TIFF's pages), each decoded when asked for."""

    def __init__(self, data: bytes) -> None:
        """Raises LoadError when the picture is damaged or declares a bomb's size."""
        self._picture = _open(data)
        self.media_type = Image.MIME.get(self._picture.format or "", "image/png")
        try:
            self.count = int(getattr(self._picture, "n_frames", 1))
        except _PILLOW_FAILURES as exc:
            raise LoadError("image_corrupt", problem=_reason(exc)) from exc

    def frame(self, index: int) -> Image.Image:
        """Raises LoadError when the frame is damaged or larger than MAX_PIXELS."""
        try:
            self._picture.seek(index)
        except _PILLOW_FAILURES as exc:
            raise LoadError("image_corrupt", problem=_reason(exc)) from exc
        return _ready(self._picture)


def _open(data: bytes) -> Image.Image:
    try:
        # Pillow's own bomb check warns, then fails at twice its limit; ours, in _ready, is
        # the one that counts below that.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))
    except _PILLOW_FAILURES as exc:
        if isinstance(exc, Image.DecompressionBombError):
            declared = _PILLOW_PIXELS.search(str(exc))
            pixels = int(declared.group(1)) if declared else 2 * (Image.MAX_IMAGE_PIXELS or 0)
            raise LoadError(
                "image_too_large", megapixels=pixels // 1_000_000, limit_mp=_mp()
            ) from exc
        raise LoadError("image_corrupt", problem=_reason(exc)) from exc
    return picture


def _ready(picture: Image.Image) -> Image.Image:
    width, height = picture.size
    if width * height > MAX_PIXELS:
        raise LoadError("image_too_large", megapixels=width * height // 1_000_000, limit_mp=_mp())
    try:
        # A JPEG decodes straight at a fraction of its size: a 50 megapixel photo costs a
        # quarter of the memory and time.
        picture.draft("RGB", (MAX_SIDE, MAX_SIDE))
        picture.load()
        upright = ImageOps.exif_transpose(picture)
        upright.thumbnail((MAX_SIDE, MAX_SIDE))
        return _rgb(upright)
    except _PILLOW_FAILURES as exc:
        raise LoadError("image_corrupt", problem=_reason(exc)) from exc


def _rgb(picture: Image.Image) -> Image.Image:
    """RGB, with transparency over white: dark text on a transparent ground stays readable."""
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        ground = Image.new("RGBA", rgba.size, "white")
        return Image.alpha_composite(ground, rgba).convert("RGB")
    if picture.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greys (scanners write them): scaled to 8 bits, not clipped to white.
        picture = picture.point(lambda value: value / 256).convert("L")
    return picture.convert("RGB")


class PdfPictures:
    """A PDF's pages as pictures, opened once per document."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._document: pdfium.PdfDocument | None = None

    def page(self, index: int) -> Image.Image:
        """The page rendered for OCR; raises pypdfium2's PdfiumError where PDFium cannot."""
        if self._document is None:
            self._document = pdfium.PdfDocument(self._data)
        page = self._document[index]
        try:
            width, height = page.get_size()
            scale = min(_RENDER_DPI / 72, MAX_SIDE / max(width, height, 1))
            bitmap = page.render(scale=scale, grayscale=True)
            picture: Image.Image = bitmap.to_pil().convert("RGB")
            return picture
        finally:
            page.close()

    def close(self) -> None:
        if self._document is not None:
            self._document.close()
            self._document = None


def is_blank(picture: Image.Image) -> bool:
    """One colour all over: nothing for OCR to find."""
    low, high = picture.convert("L").getextrema()
    assert isinstance(low, int) and isinstance(high, int)  # one band: one (min, max) pair
    return high - low < 16


def _mp() -> int:
    return MAX_PIXELS // 1_000_000


def _reason(exc: BaseException) -> str:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return reason if len(reason) <= 120 else reason[:117] + "..."
