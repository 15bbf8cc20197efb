"""Decide an upload's real media type from its bytes; the filename only picks a text flavour."""

from __future__ import annotations

import io
import re
import zipfile

import puremagic

from core.errors import LoadError, UnsupportedMedia
from ingest.loaders import DOCX
from ingest.text_encoding import decode_text

PDF = "application/pdf"
HTML = "text/html"
MARKDOWN = "text/markdown"
PLAIN = "text/plain"

# PDF readers accept the header anywhere in the first 1024 bytes (junk such as a MacBinary or
# mail header before it); past offset 0 we also want an object, so that a text file that
# merely mentions "%PDF-1.7" near its start stays text.
_PDF_HEADER = re.compile(rb"%PDF-\d\.\d")
_PDF_OBJECT = re.compile(rb"\d+\s+\d+\s+obj\b")
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# Pictures read by OCR, by their signatures (WebP: a RIFF container of kind WEBP).
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
_DOCX_PART = "word/document.xml"

# Zip-based formats we can name but not read, by a member only they have.
_ZIP_KINDS = (
    ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (
        "ppt/presentation.xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
)

# Formats that are text on the wire but not text to read; their signatures are long enough
# that plain prose does not start with them by chance.
_TEXT_FORMATS = {"application/rtf", "application/postscript", "image/svg+xml"}

_HTML_START = re.compile(
    r"\A\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
    re.IGNORECASE | re.DOTALL,
)
_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdx")


def sniff_media_type(data: bytes, filename: str) -> str:
    """Return the LOADERS key for `data`; never trusts the filename or a client's content type.

    Raises `LoadError` for an empty file and `UnsupportedMedia` for anything that is neither a
    PDF, a Word document, a picture OCR reads (PNG, JPEG, TIFF, WebP) nor text.
    """
    if not data:
        raise LoadError("file_empty")
    header = _PDF_HEADER.search(data, 0, 1024)
    if header is not None and (
        header.start() == 0 or _PDF_OBJECT.search(data, header.end(), header.end() + 65536)
    ):
        return PDF
    if data.startswith(_ZIP_SIGNATURES):
        return _sniff_zip(data)
    for signature, media_type in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    try:
        text = decode_text(data)
    except LoadError:
        raise _unsupported_binary(data) from None
    # RTF, PostScript and SVG start with one of these; plain prose is not run through
    # puremagic's whole signature table (a fifth of a millisecond per file).
    if text.lstrip("\ufeff \t\r\n")[:1] in ("{", "%", "<"):
        binary_kind = _magic_mime(data)
        if binary_kind in _TEXT_FORMATS:
            raise UnsupportedMedia("unsupported_type", media_type=binary_kind)
    if _HTML_START.match(text[:4096]):
        return HTML
    if filename.lower().endswith(_MARKDOWN_SUFFIXES):
        return MARKDOWN
    return PLAIN


def _sniff_zip(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError):
        # A damaged archive still names its members in the local headers; if it was a Word
        # file, let the Word loader say it is corrupt rather than call it unsupported.
        if _DOCX_PART.encode() in data:
            return DOCX
        raise UnsupportedMedia("unsupported_type", media_type="application/zip") from None
    if _DOCX_PART in names:
        return DOCX
    kind = "application/zip"
    for member, mime in _ZIP_KINDS:
        if member in names:
            kind = mime
    if mimetype and re.fullmatch(rb"[\w.+/-]+", mimetype.strip()):
        # OpenDocument and EPUB store their media type in a "mimetype" member.
        kind = mimetype.strip().decode("ascii")
    raise UnsupportedMedia("unsupported_type", media_type=kind)


def _unsupported_binary(data: bytes) -> UnsupportedMedia:
    kind = _magic_mime(data)
    if kind:
        return UnsupportedMedia("unsupported_type", media_type=kind)
    return UnsupportedMedia("unrecognised_binary")


def _magic_mime(data: bytes) -> str:
    """puremagic's best-ranked media type for the bytes, or "" when it knows none."""
    try:
        matches = puremagic.magic_string(data)
    except (puremagic.PureError, ValueError):
        return ""
    for match in matches:
        if match.mime_type:
            return str(match.mime_type)
    return ""
