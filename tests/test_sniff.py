"""Media types come from the bytes; the filename only picks between text flavours."""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from pathlib import Path

import pytest

from core.errors import LoadError, UnsupportedMedia
from ingest.loaders import DOCX, LOADERS
from ingest.sniff import sniff_media_type

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000a49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def test_pdf_renamed_to_txt_or_docx_is_still_a_pdf(shared_data: Path) -> None:
    data = (shared_data / "pdfs" / "en-google-doc-example.pdf").read_bytes()
    assert sniff_media_type(data, "notes.txt") == "application/pdf"
    assert sniff_media_type(data, "report.docx") == "application/pdf"


def test_pdf_header_after_leading_junk_is_found(shared_data: Path) -> None:
    data = (shared_data / "pdfs" / "en-google-doc-example.pdf").read_bytes()
    assert sniff_media_type(b"\x00\x05MacBinary junk\r\n" + data, "x.bin") == "application/pdf"


def test_text_that_mentions_the_pdf_header_stays_text() -> None:
    data = b"# PDF notes\n\nEvery file starts with %PDF-1.7 and ends with %%EOF.\n"
    assert sniff_media_type(data, "notes.md") == "text/markdown"


def test_gif_named_pdf_is_unsupported_and_named() -> None:
    with pytest.raises(UnsupportedMedia, match=r"image/gif is not supported; supported: PDF"):
        sniff_media_type(b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes(40), "scan.pdf")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", "image/jpeg"),
        (b"II*\x00\x08\x00\x00\x00" + bytes(20), "image/tiff"),
        (b"MM\x00*\x00\x00\x00\x08" + bytes(20), "image/tiff"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20), "image/webp"),
    ],
)
def test_pictures_are_sniffed_from_their_bytes_whatever_their_name(data: bytes, kind: str) -> None:
    assert sniff_media_type(data, "scan.pdf") == kind
    assert sniff_media_type(data, "notes.txt") == kind


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (gzip.compress(b"hello " * 100), "gzip"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01", "image/gif"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48), "executable"),
        (b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} Hello}", "application/rtf"),
    ],
)
def test_known_binary_formats_are_unsupported_with_their_type(data: bytes, kind: str) -> None:
    with pytest.raises(UnsupportedMedia) as raised:
        sniff_media_type(data, "document.txt")
    assert kind in raised.value.message


def test_empty_file_is_a_load_error() -> None:
    with pytest.raises(LoadError, match=r"the file is empty \(0 bytes\)"):
        sniff_media_type(b"", "empty.txt")


def test_word_document_is_detected_from_its_bytes(shared_data: Path) -> None:
    data = (shared_data / "docs" / "zh-analysis-reading-note.docx").read_bytes()
    assert sniff_media_type(data, "note.pdf") == DOCX
    assert sniff_media_type(data, "note") == DOCX


def test_truncated_word_document_goes_to_the_word_loader(shared_data: Path) -> None:
    data = (shared_data / "docs" / "zh-analysis-reading-note.docx").read_bytes()
    assert sniff_media_type(data[: len(data) // 2], "note.docx") == DOCX


def test_zip_without_a_word_document_is_unsupported() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(UnsupportedMedia, match="spreadsheetml"):
        sniff_media_type(buffer.getvalue(), "sheet.docx")


def test_html_is_detected_from_bytes_even_when_named_txt(shared_data: Path) -> None:
    data = (shared_data / "docs" / "zh-gmw-space-alcohol-news.html").read_bytes()
    assert sniff_media_type(data, "article.txt") == "text/html"
    assert sniff_media_type(b"<!-- saved -->\n<html><body>x</body></html>", "a.md") == "text/html"


def test_markdown_only_when_the_name_says_so(shared_data: Path) -> None:
    data = (shared_data / "docs" / "zh-java-naming-rules.md").read_bytes()
    assert sniff_media_type(data, "rules.md") == "text/markdown"
    assert sniff_media_type(data, "RULES.Markdown") == "text/markdown"
    assert sniff_media_type(data, "rules.txt") == "text/plain"


@pytest.mark.parametrize(
    "name", ["zh-prompt-guide.txt", "zh-prompt-guide.gbk.txt", "zh-prompt-guide.utf16.txt"]
)
def test_chinese_text_in_any_encoding_is_plain_text(shared_data: Path, name: str) -> None:
    assert sniff_media_type((shared_data / "docs" / name).read_bytes(), name) == "text/plain"


def test_text_starting_like_a_bitmap_signature_is_still_text() -> None:
    assert sniff_media_type(b"BM stands for bitmap, but this is prose.\n", "a.txt") == "text/plain"


def test_random_binary_is_unsupported() -> None:
    data = random.Random(7).randbytes(4096)
    with pytest.raises(UnsupportedMedia, match="unrecognised binary data"):
        sniff_media_type(data, "notes.txt")


def test_every_sniffed_type_has_a_loader(shared_data: Path) -> None:
    samples = {
        "a.pdf": (shared_data / "pdfs" / "en-google-doc-example.pdf").read_bytes(),
        "a.docx": (shared_data / "docs" / "zh-analysis-reading-note.docx").read_bytes(),
        "a.md": b"# Title\n",
        "a.html": b"<!DOCTYPE html><html></html>",
        "a.txt": b"hello",
        "a.png": PNG,
        "a.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        "a.tif": b"II*\x00\x08\x00\x00\x00",
        "a.webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    }
    kinds = {sniff_media_type(data, name) for name, data in samples.items()}
    assert kinds == set(LOADERS.keys())
