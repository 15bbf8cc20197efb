"""Hostile slides, workbooks, CSV files and books fail their own document with a reason:
archives that declare gigabytes, too many parts, sheets past the cell limit, a shared-string
table built to exhaust memory (caught by the parse process's cap), damaged archives and XML
built to expand."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.hostile import xlsx_bomb
from core.catalog.records import DocumentStatus, JobState
from core.errors import LoadError
from ingest.loaders import LOADERS
from ingest.loaders.archive import MAX_MEMBERS, MAX_UNCOMPRESSED_BYTES
from ingest.loaders.delimited import CsvLoader
from ingest.loaders.table_rows import MAX_CELLS
from ingest.sniff import sniff_media_type
from tests.conftest import drain
from tests.nodes import Node
from tests.office_files import book, deck, workbook

MAIN_PARTS = {
    "deck.pptx": "ppt/presentation.xml",
    "sheet.xlsx": "xl/workbook.xml",
    "book.epub": "META-INF/container.xml",
}


def ignore_progress(done: int, total: int) -> None:
    pass


def load(filename: str, data: bytes) -> None:
    LOADERS.create(sniff_media_type(data, filename)).load(data, ignore_progress)


def zip_bomb(main_part: str) -> bytes:
    """An archive of a few hundred KB declaring more than the limit once unpacked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if main_part == "META-INF/container.xml":
            archive.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        archive.writestr(main_part, "<x/>")
        with archive.open("bomb.xml", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(MAX_UNCOMPRESSED_BYTES // len(block) + 1):
                member.write(block)
    return buffer.getvalue()


@pytest.mark.parametrize("filename", sorted(MAIN_PARTS))
def test_a_zip_bomb_is_refused_before_anything_is_unpacked(filename: str) -> None:
    data = zip_bomb(MAIN_PARTS[filename])
    assert len(data) < 1 << 20
    started = time.monotonic()
    with pytest.raises(LoadError, match="unpacks to 201 MB, over the 200 MB limit") as raised:
        load(filename, data)
    assert raised.value.code == "archive_too_large"
    assert time.monotonic() - started < 5  # refused from the directory, nothing inflated


@pytest.mark.parametrize("filename", sorted(MAIN_PARTS))
def test_an_archive_of_too_many_parts_is_refused(filename: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if filename.endswith(".epub"):
            archive.writestr("mimetype", "application/epub+zip")
        archive.writestr(MAIN_PARTS[filename], "<x/>")
        for n in range(MAX_MEMBERS):
            archive.writestr(f"p/{n}", b"")
    with pytest.raises(
        LoadError, match=f"archive of {MAX_MEMBERS + 1 + filename.endswith('.epub')} parts"
    ):
        load(filename, buffer.getvalue())


@pytest.mark.parametrize(
    ("filename", "make", "message"),
    [
        ("deck.pptx", lambda: deck([("标题", "正文", "备注")]), "the PowerPoint file is corrupt"),
        ("sheet.xlsx", lambda: workbook({"表": [("a", "b")]}), "the Excel workbook is corrupt"),
        ("book.epub", lambda: book("书", [("章", ["文字。"])]), "the EPUB book is corrupt"),
    ],
)
def test_a_damaged_archive_fails_as_corrupt_in_its_own_format(
    filename: str, make: Callable[[], bytes], message: str
) -> None:
    data = make()
    for cut in (len(data) // 2, len(data) - 30):
        with pytest.raises(LoadError, match=message):
            load(filename, data[:cut])


def test_an_epub_whose_package_is_missing_or_names_nothing_is_corrupt() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="OEBPS/missing.opf"/></rootfiles></container>',
        )
    with pytest.raises(LoadError, match=r"the EPUB book is corrupt: .*missing\.opf"):
        load("book.epub", buffer.getvalue())


def _book_with(part_name: str, edit: Callable[[bytes], bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(book("书", [("第一章", ["正文。"])])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item in source.infolist():
            part = source.read(item)
            archive.writestr(item, edit(part) if item.filename == part_name else part)
    return buffer.getvalue()


def test_entity_expansion_in_an_epub_package_fails_at_once() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE package [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;'
        b'&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;'
        b'&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;'
        b'&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">]>'
    )
    data = _book_with(
        "OEBPS/content.opf",
        lambda opf: laughs + opf.split(b"?>", 1)[1].replace(b"<dc:title>", b"<dc:title>&g;"),
    )
    started = time.monotonic()
    with pytest.raises(LoadError, match=r"the EPUB book is corrupt: .*entity"):
        load("book.epub", data)
    assert time.monotonic() - started < 5


def test_an_external_entity_in_an_epub_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    doctype = f'<!DOCTYPE html [<!ENTITY secret SYSTEM "{secret.as_uri()}">]>'.encode()
    data = _book_with(
        "OEBPS/nav.xhtml",
        lambda nav: nav.replace(b"?>", b"?>" + doctype, 1).replace(
            b">\xe7\xac\xac", b">&secret;\xe7\xac\xac"
        ),
    )
    assert b"&secret;" in zipfile.ZipFile(io.BytesIO(data)).read("OEBPS/nav.xhtml")
    document = LOADERS.create("application/epub+zip").load(data, ignore_progress)
    assert "TOPSECRET" not in repr(document)
    assert document.sections[0].text.endswith("正文。")


def test_a_csv_past_the_cell_limit_fails_with_its_row() -> None:
    rows = MAX_CELLS // 4 + 1
    data = b"a,b,c,d\n" + b"1,2,3,4\n" * rows
    # The header's 4 cells and 49,999 rows of 4 make 200,000: row 50,001 passes the limit.
    with pytest.raises(LoadError, match=f"passes {MAX_CELLS} filled cells at row {rows}"):
        CsvLoader().load(data, ignore_progress)


def test_formula_cells_and_blank_workbooks_fail_with_their_own_reason() -> None:
    with pytest.raises(LoadError, match="no values in its visible sheets"):
        load("blank.xlsx", workbook({"Empty": []}))
    with pytest.raises(LoadError, match="has 3 formulas without a saved result"):
        load("sums.xlsx", workbook({"Sums": [("=1", "=2", "=3")]}))


@pytest.mark.slow
def test_hostile_office_files_fail_alone_in_the_parse_pool(
    node_factory: Callable[..., Node],
) -> None:
    node = node_factory(parse_processes=1, parse_memory_mb=256)
    collection = node.operations.open_collection("kb")
    columns = 20
    hostile = {
        "huge.xlsx": (xlsx_bomb(rows=MAX_CELLS // columns + 1, columns=columns), "sheet_too_large"),
        "strings.xlsx": (xlsx_bomb(strings_mb=60), "parse_memory_limit"),
        "bomb.pptx": (zip_bomb("ppt/presentation.xml"), "archive_too_large"),
        "broken.epub": (book("书", [("章", ["字。"])])[:-40], "epub_corrupt"),
    }
    added = {name: node.add_bytes(collection, name, data) for name, (data, _) in hostile.items()}
    good = node.add_bytes(collection, "good.csv", "名称,数量\n苹果,3\n".encode())

    drain(node)

    for name, (_, code) in hostile.items():
        job = node.catalog.get_job(added[name].job.id)
        assert job.state == JobState.FAILED and job.error_code == code, (name, job)
        assert job.failures == 1, (name, job)  # failed at once, not tried again
    huge = node.catalog.get_job(added["huge.xlsx"].job.id)
    # A header of 21 cells and 9,999 rows of 20 make 200,001.
    assert huge.error_params == {
        "sheet": "炸弹",
        "row": MAX_CELLS // columns,
        "limit": MAX_CELLS,
    }
    document = node.catalog.get_document(collection.id, good.document.id)
    assert document.status == DocumentStatus.READY
