"""OCR of scanned pages and pictures (ingest/ocr): real scans made by rendering pages of the
shared PDFs, Chinese and English, read through the loaders, the parser processes and the API;
hostile pictures fail their own document with a reason."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from core.catalog.records import DocumentStatus
from core.errors import LoadError
from core.types import ChunkFlag, LoadedDocument, Section
from ingest.checkpoint import DiskCheckpoint
from ingest.loaders.image import ImageLoader
from ingest.loaders.pdf import PdfLoader
from ingest.ocr.engine import RapidOcr
from ingest.ocr.layout import TextBox, page_text
from ingest.ocr.pictures import Frames
from ingest.split import Splitter
from tests.conftest import drain, make_settings, upload_and_wait
from tests.nodes import Node
from tests.scans import image_only_pdf, picture_bytes, scanned_page

ZEN = ("en-google-doc-example.pdf", 1, "Beautifulisbetterthanugly.")
# 《Java 开发手册》: how long network logs are kept.
LOGS = ("zh-java-dev-manual-huangshan.pdf", 30, "留存的日志不少于六个月")


@pytest.fixture(scope="module")
def ocr() -> RapidOcr:
    """One engine for the module: its model loads at the first picture."""
    return RapidOcr()


def squash(text: str) -> str:
    return "".join(text.split())


def scan(shared_data: Path, which: tuple[str, int, str]) -> Image.Image:
    return scanned_page(shared_data / "pdfs" / which[0], which[1])


def image_loader(ocr: RapidOcr | None) -> ImageLoader:
    loader = ImageLoader()
    loader.use_ocr(ocr)
    return loader


def pdf_loader(ocr: RapidOcr | None) -> PdfLoader:
    loader = PdfLoader()
    loader.use_ocr(ocr)
    return loader


def png(width: int, height: int) -> bytes:
    """A PNG that declares these dimensions over one row of pixels: decoding it in full
    would take width x height x 3 bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = zlib.compress(b"\0" + bytes(3 * min(width, 1000)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")


def load_fails(loader: ImageLoader | PdfLoader, data: bytes) -> LoadError:
    with pytest.raises(LoadError) as raised:
        loader.load(data, lambda done, total: None)
    return raised.value


# Pictures that fail their own document, before any OCR.


def test_a_picture_declaring_ten_gigapixels_is_refused_as_it_opens(ocr: RapidOcr) -> None:
    error = load_fails(image_loader(ocr), png(100_000, 100_000))
    assert error.code == "image_too_large"
    assert error.message == (
        "the picture has 10000 megapixels, over the limit of 150; it may be built to exhaust memory"
    )


def test_a_picture_under_pillows_own_limit_but_over_ours_is_refused_before_decoding(
    ocr: RapidOcr,
) -> None:
    error = load_fails(image_loader(ocr), png(13_000, 12_000))
    assert error.code == "image_too_large" and error.params["megapixels"] == 156


def test_a_truncated_jpeg_is_refused_as_corrupt(ocr: RapidOcr, shared_data: Path) -> None:
    jpeg = picture_bytes(scan(shared_data, ZEN), "JPEG")
    error = load_fails(image_loader(ocr), jpeg[: len(jpeg) // 2])
    assert error.code == "image_corrupt"
    assert error.message.startswith("the picture is corrupt or truncated: image file is truncated")


def test_bytes_with_a_picture_signature_and_nothing_after_are_corrupt(ocr: RapidOcr) -> None:
    error = load_fails(image_loader(ocr), b"\x89PNG\r\n\x1a\n" + bytes(40))
    assert error.code == "image_corrupt"


def test_with_ocr_off_a_picture_fails_with_the_setting_named(shared_data: Path) -> None:
    error = load_fails(image_loader(None), picture_bytes(scan(shared_data, ZEN), "PNG"))
    assert error.message == (
        "the file is a picture: its text can only be read by OCR, which is turned off (ZHIKU_OCR)"
    )


def test_blank_frames_of_a_tiff_are_pages_with_no_text(ocr: RapidOcr) -> None:
    pages = [Image.new("L", (800, 1000), 255), Image.new("RGB", (800, 1000), "white")]
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:])
    calls: list[tuple[int, int]] = []
    with pytest.raises(LoadError) as raised:
        image_loader(ocr).load(out.getvalue(), lambda done, total: calls.append((done, total)))
    assert (
        raised.value.message
        == "no text found: OCR read nothing from the 2 pages without a text layer"
    )
    assert calls == [(1, 2), (2, 2)]


def test_a_blank_scanned_pdf_page_is_read_as_no_text(ocr: RapidOcr) -> None:
    error = load_fails(pdf_loader(ocr), image_only_pdf([Image.new("RGB", (1240, 1754), "white")]))
    assert error.code == "ocr_no_text" and error.params == {"pages": 1}


def test_transparent_pictures_are_read_on_white_and_large_ones_scaled_down() -> None:
    picture = Image.new("RGBA", (5000, 2500), (0, 0, 0, 0))
    frames = Frames(picture_bytes(picture, "PNG"))
    frame = frames.frame(0)
    assert frames.media_type == "image/png" and frames.count == 1
    assert frame.mode == "RGB" and frame.size == (2000, 1000)
    assert frame.getpixel((10, 10)) == (255, 255, 255)


# How text boxes become lines and paragraphs.


def box(text: str, left: float, top: float, right: float, height: float = 20) -> TextBox:
    return TextBox(text, left, top, right, top + height)


def test_boxes_side_by_side_are_one_line_and_wrapped_lines_one_paragraph() -> None:
    boxes = [
        box("根据国家法律，网络运行状态、网络安全", 100, 100, 900),
        box("事件等相关记录，留存的日志不少于六个月。", 100, 128, 700),
        box("Name", 100, 200, 180, 18),
        box("Value", 400, 202, 480, 18),
        box("The records are kept for six months and back-", 100, 260, 905),
        box("ed up on several machines.", 100, 288, 500),
    ]
    assert page_text(boxes) == (
        "根据国家法律，网络运行状态、网络安全事件等相关记录，留存的日志不少于六个月。\n\n"
        "Name Value\n\n"
        "The records are kept for six months and backed up on several machines."
    )


def test_a_short_line_keeps_its_line_break() -> None:
    boxes = [box("第一章 总则", 100, 100, 300), box("本规定适用于全体员工。", 100, 128, 900)]
    assert page_text(boxes) == "第一章 总则\n本规定适用于全体员工。"


def test_a_box_misread_across_several_lines_does_not_swallow_them() -> None:
    lines = [box(f"Line {i} of the list.", 100, 100 + 30 * i, 480 - 90 * i) for i in range(3)]
    tall = box("2", 40, 95, 60, height=90)
    read = page_text([tall, *lines]).split("\n")
    assert len(read) == 3 and all(f"Line {i} of the list." in read[i] for i in range(3))


def test_a_two_column_page_is_read_column_by_column() -> None:
    title = [box("以太坊：一种安全去中心化的通用交易账本", 400, 50, 800)]
    left = [box(f"左栏第{i}行的文字内容，", 100, 100 + 28 * i, 580) for i in range(4)]
    right = [box(f"右栏第{i}行的文字内容，", 620, 100 + 28 * i, 1100) for i in range(4)]
    text = page_text(right + title + left)
    assert text.split("\n\n") == [
        "以太坊：一种安全去中心化的通用交易账本",
        "".join(f"左栏第{i}行的文字内容，" for i in range(4)),
        "".join(f"右栏第{i}行的文字内容，" for i in range(4)),
    ]


def test_a_table_of_narrow_cells_keeps_its_rows() -> None:
    rows = [("LRS", "Linear Reference System"), ("NHN", "National Hydro Network")]
    boxes = [
        piece
        for i, (key, value) in enumerate(rows * 2)
        for piece in (box(key, 100, 100 + 28 * i, 180), box(value, 700, 100 + 28 * i, 1000))
    ]
    assert page_text(boxes).split("\n")[:2] == [
        "LRS Linear Reference System",
        "NHN National Hydro Network",
    ]


# What OCR'd text carries on to its chunks and the checkpoint.


def test_a_sections_flags_reach_every_chunk_cut_from_it() -> None:
    splitter = Splitter(lambda texts: [len(t) for t in texts], _spans, 40, 8, 60)
    text = "扫描件上的文字。" * 20
    document = LoadedDocument(
        "image/png", 1, [Section(text, page=1, flags=ChunkFlag.OCR), Section("打字的文字。", 2)]
    )
    drafts = splitter.split(document)
    assert len(drafts) > 2
    assert {d.flags for d in drafts if d.page == 1} == {ChunkFlag.OCR}
    assert [d.flags for d in drafts if d.page == 2] == [0]


def _spans(text: str) -> list[tuple[int, int]]:
    return [(i, i + 1) for i in range(len(text))]


def test_the_checkpoint_keeps_which_pages_ocr_read(tmp_path: Path) -> None:
    first = DiskCheckpoint(tmp_path, "job")
    first.add("typed page")
    first.add("扫描页", ocr=True)
    again = DiskCheckpoint(tmp_path, "job")
    assert again.pages == ["typed page", "扫描页"] and again.ocr == {1}


# Real OCR: slow on a small machine (seconds a page).


@pytest.mark.slow
def test_an_english_scan_uploaded_as_png_is_read(ocr: RapidOcr, shared_data: Path) -> None:
    calls: list[tuple[int, int]] = []
    loaded = image_loader(ocr).load(
        picture_bytes(scan(shared_data, ZEN), "PNG"),
        lambda done, total: calls.append((done, total)),
    )
    assert loaded.media_type == "image/png" and loaded.pages == 1 and calls == [(1, 1)]
    [section] = loaded.sections
    assert section.page == 1 and section.flags == ChunkFlag.OCR
    assert ZEN[2] in squash(section.text)
    assert "Explicitisbetterthanimplicit." in squash(section.text)


@pytest.mark.slow
def test_a_chinese_pdf_of_one_scanned_page_is_read_and_resumes_from_its_checkpoint(
    ocr: RapidOcr, shared_data: Path, tmp_path: Path
) -> None:
    data = image_only_pdf([scan(shared_data, LOGS)])
    loaded = pdf_loader(ocr).load_resuming(
        data, lambda done, total: None, DiskCheckpoint(tmp_path, "job")
    )
    [section] = loaded.sections
    assert section.page == 1 and section.flags == ChunkFlag.OCR
    assert LOGS[2] in squash(section.text)

    calls: list[tuple[int, int]] = []
    again = pdf_loader(ocr).load_resuming(
        data, lambda done, total: calls.append((done, total)), DiskCheckpoint(tmp_path, "job")
    )
    assert calls == [] and again.sections == loaded.sections


@pytest.mark.slow
def test_a_parser_process_reads_a_jpeg_scan_under_its_memory_cap(
    node_factory: Callable[..., Node], shared_data: Path, tmp_path: Path
) -> None:
    node = node_factory(parse_processes=1)
    path = tmp_path / "scan.jpg"
    path.write_bytes(picture_bytes(scan(shared_data, LOGS), "JPEG"))
    collection = node.operations.open_collection("kb")
    added = node.add_path(collection, path)
    drain(node)
    document = node.catalog.get_document(collection.id, added.document.id)
    assert document.status == DocumentStatus.READY, document.error
    assert document.media_type == "image/jpeg" and document.pages == 1
    hits = node.catalog.lexical_search(collection.id, ["日志", "六个月"], 3)
    assert hits and hits[0].chunk.document_id == added.document.id
    assert hits[0].chunk.flags & ChunkFlag.OCR


@pytest.fixture
def scanned_service(tmp_path: Path, shared_data: Path) -> Iterator[TestClient]:
    """The app with a two-page scan (English, then Chinese) beside a typed document."""
    with TestClient(create_app(make_settings(tmp_path / "data"))) as client:
        scan_pdf = image_only_pdf([scan(shared_data, ZEN), scan(shared_data, LOGS)])
        job = upload_and_wait(client, "kb", "scan.pdf", scan_pdf, timeout=600)
        assert job["state"] == "done", job
        typed = "# 备份\n\n数据库每晚备份一次，备份文件保留三十天。\n".encode()
        assert upload_and_wait(client, "kb", "backup.md", typed)["state"] == "done"
        yield client


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "page", "answer"),
    [
        ("根据手册，网络运行状态、网络安全事件等相关记录的日志至少要留存多久？", 2, "六个月"),
        (
            # The scan names no Google Docs, which the text layer's question asks about.
            "What is better than ugly?",
            1,
            "Beautiful",
        ),
    ],
)
def test_a_question_answered_only_by_a_scan_cites_its_page_with_the_ocr_mark(
    scanned_service: TestClient, question: str, page: int, answer: str
) -> None:
    response = scanned_service.post("/api/collections/kb/query", json={"question": question})
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body["abstained"] and answer in body["answer"], body["answer"]
    cited = body["citations"][0]
    assert cited["filename"] == "scan.pdf" and cited["page"] == page
    chunk = next(c for c in body["chunks"] if c["n"] == cited["n"])
    assert "ocr" in chunk["flags"]
