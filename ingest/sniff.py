"""Decide an upload's real media type from its bytes; the filename only picks a text flavour."""

from __future__ import annotations

import io
import re
import zipfile
import zlib

import puremagic
from lxml import etree

from core.errors import LoadError, UnsupportedMedia
from ingest.loaders import CSV, DOCX, EPUB, PPTX, XLSX
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

# An Office package names its main part's content type in [Content_Types].xml; EPUB and
# OpenDocument files store their media type in a "mimetype" member.
_CONTENT_TYPES = "[Content_Types].xml"
_OFFICE_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": XLSX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
}
# Without a readable [Content_Types].xml (a damaged archive included, whose local headers
# still name its members): a part only that format has, so its loader can say what is wrong.
_OFFICE_PARTS = (
    ("word/document.xml", DOCX),
    ("xl/workbook.xml", XLSX),
    ("ppt/presentation.xml", PPTX),
)
# In a damaged archive the main part may be past the damage; these parts come early (a
# workbook's sheets before its workbook part, as openpyxl and Excel write them).
_OFFICE_FOLDERS = (
    (b"word/_rels/", DOCX),
    (b"xl/worksheets/", XLSX),
    (b"xl/theme/", XLSX),
    (b"ppt/slides/", PPTX),
    (b"ppt/_rels/", PPTX),
)
_EPUB_MIMETYPE = b"mimetypeapplication/epub+zip"
# Sniffing inflates only members this small: a bomb is its loader's to refuse, in a parser
# process, not the service's.
_SNIFF_MEMBER_BYTES = 1024 * 1024
_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_CSV_SUFFIXES = (".csv", ".tsv")

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
    PDF, an Office document (Word, PowerPoint, Excel), an EPUB book, a picture OCR reads (PNG,
    JPEG, TIFF, WebP) nor text.
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
    if filename.lower().endswith(_CSV_SUFFIXES):
        return CSV
    if filename.lower().endswith(_MARKDOWN_SUFFIXES):
        return MARKDOWN
    return PLAIN


def _sniff_zip(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            mimetype = _small_member(archive, "mimetype").strip()
            content_types = _small_member(archive, _CONTENT_TYPES)
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        for part, kind in _OFFICE_PARTS:
            if part.encode() in data:
                return kind
        for folder, kind in _OFFICE_FOLDERS:
            if folder in data:
                return kind
        if _EPUB_MIMETYPE in data[:4096]:
            return EPUB
        raise UnsupportedMedia("unsupported_type", media_type="application/zip") from None
    if mimetype == EPUB.encode():
        return EPUB
    office = _office_kind(content_types)
    if office is not None:
        return office
    for part, kind in _OFFICE_PARTS:
        if part in names:
            return kind
    kind = "application/zip"
    if re.fullmatch(rb"[\w.+/-]+", mimetype):
        kind = mimetype.decode("ascii")
    raise UnsupportedMedia("unsupported_type", media_type=kind)


def _small_member(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return b""
    if info.file_size > _SNIFF_MEMBER_BYTES:
        return b""
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error):
        return b""


def _office_kind(content_types: bytes) -> str | None:
    """The format whose main part [Content_Types].xml declares, if one we read."""
    if not content_types:
        return None
    try:
        root = etree.fromstring(content_types, _XML)
    except etree.LxmlError:
        return None
    for override in root.iter("{*}Override"):
        kind = _OFFICE_MAIN.get(str(override.get("ContentType", "")).strip())
        if kind is not None:
            return kind
    return None


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
