"""What every Loader must do, run on the loader of each media type in LOADERS: a small valid
file becomes sections in reading order with progress counted up to its pages, and empty or
garbage bytes are refused with a LoadError whose reason a person can read."""

from __future__ import annotations

import functools
import io
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest

from core.errors import LoadError
from core.types import LoadedDocument
from ingest.loaders import DOCX, LOADERS
from ingest.loaders.protocol import ReadsPictures
from ingest.ocr.engine import RapidOcr
from tests.office_files import book, deck, workbook
from tests.scans import picture_bytes, scanned_page


@dataclass(frozen=True)
class Sample:
    make: Callable[[Path], bytes]
    """The file's bytes, given the shared data folder."""
    in_order: tuple[str, ...]
    """Phrases its sections must hold, in this order."""
    source: str | None = None
    """The text the offsets point into, where it is the file itself."""


def word_file(_: Path) -> bytes:
    document = docx.Document()
    document.add_paragraph("Zhiku Handbook", style="Title")
    document.add_paragraph("Read this first.")
    document.add_heading("Install", level=1)
    document.add_paragraph("Install Zhiku with pip.")
    table = document.add_table(rows=2, cols=2)
    for row, values in zip(table.rows, [["Item", "Fee"], ["Filing", "$313"]], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_heading("Usage", level=1)
    document.add_paragraph("Ask a question. 用中文提问。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


MARKDOWN = (
    "Intro line.\n\n# Install\n\nInstall Zhiku with pip.\n\n```bash\n# not a heading\n```\n\n"
    "## On Linux\n\nUse the package.\n\n# 用法\n\n用中文提问。\n"
)
HTML = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Zhiku Handbook</title>"
    "<script>var tracker = 1;</script></head><body><nav>Home | News</nav><article>"
    "<h1>Zhiku Handbook</h1><p>Zhiku answers questions from your own documents, "
    "each answer citing the passages it quotes.</p><h2>Install</h2><p>Install Zhiku with "
    "pip on any machine with Python 3.11.</p><h2>Usage</h2><p>Ask a question in English "
    "or in Chinese: 用中文提问也可以。</p></article><footer>© Zhiku</footer></body></html>"
)
TEXT = "\n  Zhiku answers questions.\n\nInstall it with pip.\n\n用中文提问。\n"

CSV = "Name,Role\nZhiku,Answers questions\n知库,用中文提问\n"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def scan(kind: str) -> Callable[[Path], bytes]:
    """The ElegantPaper guide's first page, scanned to a picture of this kind."""

    def make(shared: Path) -> bytes:
        page = scanned_page(shared / "pdfs" / "en-elegantpaper-guide.pdf", 1)
        return picture_bytes(page, kind)

    return make


_SCANNED = ("ElegantPaper", "Abstract")

SAMPLES = {
    "application/pdf": Sample(
        lambda shared: (shared / "pdfs" / "en-elegantpaper-guide.pdf").read_bytes(),
        (
            "ElegantPaper: An Elegant",
            "1.2 Custom Commands",
            "Table 1: Auto MPG and Price",
            "Figure 1: Scatter Plot Example",
            "FRB Richmond Economic Quarterly",
        ),
    ),
    DOCX: Sample(
        word_file,
        ("Zhiku Handbook", "Read this first.", "Install Zhiku", "Filing | $313", "用中文提问"),
    ),
    "text/markdown": Sample(
        lambda _: MARKDOWN.encode(),
        ("Intro line.", "# Install", "# not a heading", "Use the package.", "用中文提问"),
        source=MARKDOWN,
    ),
    "text/html": Sample(
        lambda _: HTML.encode(),
        ("Zhiku Handbook", "answers questions", "Install Zhiku with pip", "用中文提问"),
    ),
    "text/plain": Sample(
        lambda _: TEXT.encode(),
        ("Zhiku answers questions.", "Install it with pip.", "用中文提问"),
        source=TEXT,
    ),
    "text/csv": Sample(lambda _: CSV.encode(), ("Name | Role", "Zhiku | Answers", "知库 | 用中文")),
    PPTX: Sample(
        lambda _: deck([("Install", "Install Zhiku with pip.", ""), ("用法", "用中文提问。", "")]),
        ("Install", "Install Zhiku with pip.", "用法", "用中文提问"),
    ),
    XLSX: Sample(
        lambda _: workbook({"Fees": [("Item", "Fee"), ("Filing", 313)], "费用": [("项目",)]}),
        ("Item | Fee", "Filing | 313", "项目"),
    ),
    "application/epub+zip": Sample(
        lambda _: book(
            "Handbook", [("Install", ["Install Zhiku with pip."]), ("用法", ["用中文提问。"])]
        ),
        ("Install", "Install Zhiku with pip.", "用法", "用中文提问"),
    ),
    "image/png": Sample(scan("PNG"), _SCANNED),
    "image/jpeg": Sample(scan("JPEG"), _SCANNED),
    "image/tiff": Sample(scan("TIFF"), _SCANNED),
    "image/webp": Sample(scan("WEBP"), _SCANNED),
}

EMPTY = {"empty": b"", "blank": b" \n\t\r\n "}
_JUNK = random.Random(16).randbytes(4096)
GARBAGE = {
    "random": _JUNK,
    "nuls": bytes(4096),
    "pdf-header-then-junk": b"%PDF-1.7\n" + _JUNK,
    "zip-header-then-junk": b"PK\x03\x04" + _JUNK,
}


@pytest.fixture(params=sorted(SAMPLES))
def media_type(request: pytest.FixtureRequest) -> str:
    key: str = request.param
    return key


def load(media_type: str, data: bytes) -> tuple[LoadedDocument, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total))

    loader = LOADERS.create(media_type)
    if isinstance(loader, ReadsPictures):
        loader.use_ocr(_ocr())
    return loader.load(data, progress), calls


@functools.cache
def _ocr() -> RapidOcr:
    return RapidOcr()


def refusal(media_type: str, data: bytes) -> str:
    with pytest.raises(LoadError) as refused:
        load(media_type, data)
    reason = refused.value.message
    assert str(refused.value) == reason
    # A sentence a person can act on: not empty, not a bare exception name, not a dump.
    assert " " in reason.strip()
    assert reason.isprintable() and len(reason) <= 300
    return reason


def test_every_registered_media_type_has_a_sample_here() -> None:
    skipped = sorted(set(LOADERS.keys()) - set(SAMPLES))
    assert not skipped, f"media types whose loader this contract never runs: {skipped}"


def test_a_valid_file_loads_as_sections_in_reading_order(
    media_type: str, shared_data: Path
) -> None:
    sample = SAMPLES[media_type]
    document, _ = load(media_type, sample.make(shared_data))

    assert document.media_type == media_type
    assert document.pages >= 1
    assert document.sections
    for section in document.sections:
        assert section.text.strip()
        assert section.page is None or 1 <= section.page <= document.pages
        assert section.offset >= 0
        if sample.source is not None:
            assert sample.source[section.offset :].startswith(section.text)
    # Reading order: by page, then by offset within a page, and no two sections overlap.
    for before, after in itertools.pairwise(document.sections):
        assert (before.page or 0) <= (after.page or 0)
        if before.page == after.page:
            assert after.offset >= before.offset + len(before.text)
    text = "\n".join(section.text for section in document.sections)
    found = -1
    for phrase in sample.in_order:
        found = text.find(phrase, found + 1)
        assert found >= 0, f"{phrase!r} is missing or out of order in {text!r}"


def test_progress_counts_up_to_the_documents_pages(media_type: str, shared_data: Path) -> None:
    document, calls = load(media_type, SAMPLES[media_type].make(shared_data))

    assert calls
    assert {total for _, total in calls} == {document.pages}
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[0] >= 0
    assert calls[-1] == (document.pages, document.pages)


@pytest.mark.parametrize("data", EMPTY.values(), ids=EMPTY.keys())
def test_empty_bytes_are_refused_with_a_reason(media_type: str, data: bytes) -> None:
    refusal(media_type, data)


@pytest.mark.parametrize("data", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_bytes_are_refused_with_a_reason(media_type: str, data: bytes) -> None:
    refusal(media_type, data)
