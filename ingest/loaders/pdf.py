"""Load a PDF's text layer with pypdf, page by page (each page's positioned lines checkpointed),
into sections by page and heading (pdf_structure.py), refusing what would index junk."""

from __future__ import annotations

import functools
import io
import logging
import struct
import unicodedata
import zlib
from collections import Counter
from dataclasses import replace

from pypdf import PdfReader
from pypdf.errors import LimitReachedError, PyPdfError

from core.errors import LoadError
from core.types import ChunkFlag, LoadedDocument
from ingest.loaders.pdf_layout import PageLayout, dump_layout, load_layout, read_layout
from ingest.loaders.pdf_outline import read_outline
from ingest.loaders.pdf_structure import build_sections, page_text
from ingest.loaders.protocol import PageCheckpoint, PageProgress
from ingest.ocr.engine import Ocr
from ingest.ocr.pdf_pages import PageOcr

log = logging.getLogger(__name__)
# pypdf warns once per glyph lookup without fontTools (over 1,000 lines for one paper); the
# warnings change nothing we do, and real failures still raise.
logging.getLogger("pypdf").setLevel(logging.ERROR)

MEDIA_TYPE = "application/pdf"

# pypdf reports damaged files through its own errors, but fuzzed input also surfaces as plain
# Python errors from deep inside its parsers; all of these mean "this file is broken", while
# MemoryError, OSError and our own errors must pass through.
_PYPDF_FAILURES: tuple[type[BaseException], ...] = (
    PyPdfError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    AssertionError,
    ArithmeticError,
    RecursionError,
    EOFError,
    NotImplementedError,
    zlib.error,
    struct.error,
)

# Fewer visible characters per page than this, on average, means scanned images; with OCR,
# a page with fewer is read by OCR.
_MIN_CHARS_PER_PAGE = 10


class PdfLoader:
    def __init__(self) -> None:
        self._ocr: Ocr | None = None

    def use_ocr(self, ocr: Ocr | None) -> None:
        """Read pages without a usable text layer by OCR; None: refuse such documents."""
        self._ocr = ocr

    def load(self, data: bytes, progress: PageProgress) -> LoadedDocument:
        return self.load_resuming(data, progress, PageCheckpoint())

    def load_resuming(
        self, data: bytes, progress: PageProgress, checkpoint: PageCheckpoint
    ) -> LoadedDocument:
        reader, total = _open(data)
        failures: list[str] = []
        page_ocr = PageOcr(self._ocr, data) if self._ocr is not None else None
        for index in range(len(checkpoint.pages), total):
            try:
                layout = read_layout(reader.pages[index])
            except LimitReachedError as exc:
                # pypdf's own cap on what a stream may inflate to: a page built to exhaust
                # memory, which every later attempt would meet again.
                raise LoadError("pdf_page_bomb", page=index + 1, problem=_reason(exc)) from exc
            except _PYPDF_FAILURES as exc:
                log.warning("pdf page %d: text extraction failed: %s", index + 1, _reason(exc))
                failures.append(_reason(exc))
                layout = PageLayout(0.0, 0.0, [])
            text = page_text(layout)
            if page_ocr is not None and (
                _visible(text) < _MIN_CHARS_PER_PAGE or looks_garbled(text)
            ):
                # Stored as plain text: an OCR'd page has no layout of its own to keep.
                checkpoint.add(page_ocr.read(index), ocr=True)
            else:
                checkpoint.add(dump_layout(layout))
            progress(index + 1, total)
        if page_ocr is not None:
            page_ocr.close()
        pages = [load_layout(stored) for stored in checkpoint.pages]
        texts = [page_text(page) for page in pages]
        visible = sum(_visible(text) for text in texts)
        if failures and visible == 0:
            raise LoadError("pdf_corrupt", problem=str(failures[0]))
        if self._ocr is not None:
            if visible == 0 and checkpoint.ocr:
                raise LoadError("ocr_no_text", pages=len(checkpoint.ocr))
        elif visible < _MIN_CHARS_PER_PAGE * total:
            raise LoadError("pdf_scanned", pages=total)
        elif looks_garbled("".join(texts)):
            raise LoadError("pdf_garbled")
        sections = [
            replace(section, flags=ChunkFlag.OCR)
            if section.page is not None and section.page - 1 in checkpoint.ocr
            else section
            for section in build_sections(pages, read_outline(reader))
        ]
        return LoadedDocument(media_type=MEDIA_TYPE, pages=total, sections=sections)


def _open(data: bytes) -> tuple[PdfReader, int]:
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except _PYPDF_FAILURES as exc:
        raise LoadError("pdf_corrupt", problem=_reason(exc)) from exc
    if encrypted:
        # Many PDFs are encrypted only to carry an owner password (no printing, no copying);
        # they open with the empty user password, as in any viewer.
        try:
            opened = bool(reader.decrypt(""))
        except _PYPDF_FAILURES:
            opened = False
        if not opened:
            raise LoadError("pdf_encrypted")
    try:
        total = len(reader.pages)
    except _PYPDF_FAILURES as exc:
        raise LoadError("pdf_corrupt", problem=_reason(exc)) from exc
    if total == 0:
        raise LoadError("pdf_no_pages")
    return reader, total


def _visible(text: str) -> int:
    return len("".join(text.split()))


def _reason(exc: BaseException) -> str:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return reason if len(reason) <= 120 else reason[:117] + "..."


# Scripts that real documents mix freely, however little of them appears: Latin, CJK and its
# kana, hangul syllables, and the Greek, Cyrillic and letter-like symbols of maths and science.
# fmt: off
_COMMON_SCRIPTS = frozenset(
    {
        "LATIN", "CJK", "GREEK", "CYRILLIC", "HIRAGANA", "KATAKANA", "HANGUL SYLLABLE",
        "BOPOMOFO", "IDEOGRAPHIC", "KANGXI", "FULLWIDTH", "HALFWIDTH", "MATHEMATICAL",
        "MODIFIER", "SUPERSCRIPT", "SUBSCRIPT", "MICRO", "SCRIPT", "DOUBLE-STRUCK",
        "BLACK-LETTER", "PLANCK", "KELVIN", "ANGSTROM", "OHM", "FEMININE", "MASCULINE",
        "ALEF", "BET", "GIMEL", "DALET", "TURNED",
    }
)
# fmt: on
# Any other script counts as the document's own language when it holds this share of the
# letters outside the common scripts (an Arabic or Thai document); mojibake from fonts without
# a ToUnicode map scatters over a dozen scripts (Myanmar, Sinhala, Tibetan, hangul jamo, ...)
# so none of them comes near it.
_NATIVE_SHARE = 0.25
# Share of all letters in implausible scripts above which the text layer is junk.
_GARBLED_SHARE = 0.05
_GARBLED_MIN_LETTERS = 50


def looks_garbled(text: str) -> bool:
    """True when the letters fall in scripts no real document would mix."""
    scripts: Counter[str] = Counter()
    letters = 0
    for ch in text:
        if ch.isascii():
            letters += ch.isalpha()
        elif ch.isalpha():
            letters += 1
            scripts[_script(ch)] += 1
    uncommon = {name: n for name, n in scripts.items() if name not in _COMMON_SCRIPTS}
    uncommon_total = sum(uncommon.values())
    implausible = sum(n for n in uncommon.values() if n < _NATIVE_SHARE * uncommon_total)
    return implausible >= _GARBLED_MIN_LETTERS and implausible > _GARBLED_SHARE * letters


@functools.lru_cache(maxsize=8192)
def _script(ch: str) -> str:
    """The script a letter belongs to, as the first word(s) of its Unicode name."""
    name = unicodedata.name(ch, "")
    if name.startswith("HANGUL SYLLABLE"):
        return "HANGUL SYLLABLE"
    return name.split(" ", 1)[0]
