"""Media types come from the bytes; the filename only picks between text flavours."""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import LoadError, UnsupportedMedia
from ingest.loaders import CSV, DOCX, EPUB, LOADERS, PPTX, XLSX
from ingest.sniff import sniff_media_type
from tests.office_files import book, deck, workbook

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


def test_opendocument_and_plain_zips_are_unsupported_and_named() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(UnsupportedMedia, match=r"opendocument\.text is not supported"):
        sniff_media_type(buffer.getvalue(), "report.docx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(UnsupportedMedia, match="application/zip is not supported"):
        sniff_media_type(buffer.getvalue(), "notes.xlsx")


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda: workbook({"Sheet": [("a", "b")]}), XLSX),
        (lambda: deck([("Title", "Body", "")]), PPTX),
        (lambda: book("Book", [("One", ["Text."])]), EPUB),
    ],
    ids=["xlsx", "pptx", "epub"],
)
def test_office_files_and_books_are_known_by_their_bytes_whatever_their_name(
    make: Callable[[], bytes], kind: str
) -> None:
    data = make()
    for name in ("file.xlsx", "file.pptx", "file.epub", "file.csv", "file.docx", "file"):
        assert sniff_media_type(data, name) == kind
    # Damaged, the archive still names its parts: its own loader says what is wrong.
    assert sniff_media_type(data[: len(data) // 2], "file.zip") == kind


def test_an_office_package_is_known_by_its_declared_main_part() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/custom/book.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
        archive.writestr("custom/book.xml", "<workbook/>")
    assert sniff_media_type(buffer.getvalue(), "x.bin") == XLSX


def test_sniffing_never_inflates_a_large_member() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("[Content_Types].xml", "w", force_zip64=True) as member:
            for _ in range(64):
                member.write(bytes(1 << 20))
        archive.writestr("ppt/presentation.xml", "<p:presentation/>")
    assert sniff_media_type(buffer.getvalue(), "deck.pptx") == PPTX


def test_csv_only_when_the_name_says_so() -> None:
    data = "城市,人口\n北京,2189\n".encode("gb18030")
    assert sniff_media_type(data, "cities.csv") == CSV
    assert sniff_media_type(data, "CITIES.TSV") == CSV
    assert sniff_media_type(data, "cities.txt") == "text/plain"
    assert sniff_media_type(b"<html><body>a,b</body></html>", "page.csv") == "text/html"


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
        "a.csv": b"a,b\n1,2\n",
        "a.xlsx": workbook({"Sheet": [("a", "b")]}),
        "a.pptx": deck([("Title", "Body", "")]),
        "a.epub": book("Book", [("One", ["Text."])]),
        "a.png": PNG,
        "a.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        "a.tif": b"II*\x00\x08\x00\x00\x00",
        "a.webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    }
    kinds = {sniff_media_type(data, name) for name, data in samples.items()}
    assert kinds == set(LOADERS.keys())
