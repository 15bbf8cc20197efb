"""PDF structure on the shared real PDFs: heading paths from the outline or from type, running
headers and page numbers left out, lines joined into paragraphs, two-column reading order, and
tables kept row by row; a checkpointed parse resumes to the same sections."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import pytest
from pypdf import PdfReader

from core.types import LoadedDocument, Section
from ingest.loaders.pdf import PdfLoader
from ingest.loaders.pdf_layout import dump_layout, load_layout, read_layout
from ingest.loaders.protocol import PageCheckpoint
from tests.conftest import SHARED_DATA, service_with

logging.getLogger("pypdf").setLevel(logging.ERROR)


def ignore_progress(done: int, total: int) -> None:
    pass


@functools.cache
def load(name: str) -> LoadedDocument:
    data = (SHARED_DATA / "pdfs" / name).read_bytes()
    return PdfLoader().load(data, ignore_progress)


def page_text(document: LoadedDocument, page: int) -> str:
    return "\n\n".join(s.text for s in document.sections if s.page == page)


def section_with(document: LoadedDocument, text: str) -> Section:
    return next(s for s in document.sections if text in s.text)


def test_heading_paths_come_from_the_outline(shared_data: Path) -> None:
    paper = load("en-ethereum-yellowpaper.pdf")
    driving = section_with(paper, "one key goal is to facilitate transactions")
    assert driving.heading_path == ("1. Introduction", "1.1. Driving Factors")
    assert driving.page == 1
    manual = load("zh-java-dev-manual-huangshan.pdf")
    naming = section_with(manual, "所有编程相关的命名均不能以下划线或美元符号开始")
    assert naming.heading_path[:2] == ("一、编程规约", "(一) 命名风格")
    for document in (paper, manual):
        with_path = sum(len(s.text) for s in document.sections if s.heading_path)
        assert with_path >= 0.95 * sum(len(s.text) for s in document.sections)


def test_without_an_outline_headings_come_from_bold_or_larger_type(shared_data: Path) -> None:
    geobase = load("en-geobase-nhn-data-model.pdf")
    overview = section_with(geobase, "The data model can (and must) extend beyond")
    assert overview.heading_path[-1] == "1 Overview"
    lrs = section_with(geobase, "Four packages constitute the NHNC1")
    assert lrs.heading_path[-1] == "2.1 LRS model"


def test_running_headers_footers_and_page_numbers_are_left_out(shared_data: Path) -> None:
    geobase = load("en-geobase-nhn-data-model.pdf")
    text = "\n".join(s.text for s in geobase.sections)
    # The header of every page from the third: it was once the answer to a question.
    assert "Data Model – Edition 1.0 2004" not in text
    assert not any(line.strip() in {"iii", "iv", "GeoBase® iii"} for line in text.splitlines())
    paper = load("en-ethereum-yellowpaper.pdf")
    assert "GENERALISED TRANSACTION LEDGER SHANGHAI VERSION" not in page_text(paper, 2)
    # The title on the first page is no running line: it is there once.
    assert page_text(paper, 1).startswith("ETHEREUM: A SECURE DECENTRALISED")


def test_two_columns_read_column_by_column_in_joined_paragraphs(shared_data: Path) -> None:
    paper = load("en-ethereum-yellowpaper.pdf")
    page = page_text(paper, 2)
    # Left column, then the right one: the left ends its section 1 before 2 opens on the right.
    order = [
        "the Namecoin project which aims to provide a decentralised name-resolution system.",
        "Other projects still aim to build upon the Bitcoin network itself",
        "2. The Blockchain Paradigm",
        "In order to incentivise computation within the network",
    ]
    places = [page.index(text) for text in order]
    assert places == sorted(places)
    # Lines of a paragraph joined with a space, a word hyphenated at a line's end mended.
    first = page_text(paper, 1)
    assert (
        "Follow-up systems such as Namecoin adapted this original “currency application”" in first
    )


def test_chinese_lines_are_joined_without_a_space(shared_data: Path) -> None:
    manual = load("zh-java-dev-manual-huangshan.pdf")
    lines = page_text(manual, 2).splitlines()
    # A sentence to a line: the printed lines of the preface's first sentence joined.
    assert lines[1] == (
        "《Java 开发手册》是 Java 社区爱好者的集体智慧结晶和经验总结，经历了多次大规模一线实战的"
        "检验及不断完善，整理成册后，众多社区开发者踊跃参与打磨完善，系统化地整理成册，当前的最新"
        "版本是黄山版。"
    )
    # A list item's second line, set in from its number, goes on with it.
    logs = page_text(manual, 30).splitlines()
    assert logs[0] == (
        "3.【强制】根据国家法律，网络运行状态、网络安全事件、个人敏感信息操作等相关记录，留存的日志"
        "不少于六个月，并且进行网络多机备份。"
    )


def test_a_table_keeps_its_rows(shared_data: Path) -> None:
    countries = page_text(load("en-google-doc-example.pdf"), 1)
    lines = countries.splitlines()
    assert "| Indonesia | Germany | Austria | France | Vatican" in lines
    assert "Capital | Jakarta | Berlin | Vienna | Paris | Vatican City" in lines
    history = page_text(load("en-geobase-nhn-data-model.pdf"), 3)
    assert "Date | Version | Description" in history
    assert "September 2002 | Draft 01 | First draft for discussion with Nova Scotia" in history


def test_a_resumed_parse_gives_the_same_sections(shared_data: Path) -> None:
    data = (shared_data / "pdfs" / "en-geobase-nhn-data-model.pdf").read_bytes()
    whole = load("en-geobase-nhn-data-model.pdf")
    reader = PdfReader(shared_data / "pdfs" / "en-geobase-nhn-data-model.pdf")
    checkpoint = PageCheckpoint()
    for index in range(7):  # a parse cut short after page 7
        checkpoint.add(dump_layout(read_layout(reader.pages[index])))
    assert load_layout(checkpoint.pages[2]).text == read_layout(reader.pages[2]).text
    calls: list[tuple[int, int]] = []
    resumed = PdfLoader().load_resuming(data, lambda *call: calls.append(call), checkpoint)
    assert resumed.sections == whole.sections
    assert calls[0] == (8, 19)


def test_a_page_checkpointed_as_plain_text_still_loads(shared_data: Path) -> None:
    """A checkpoint an earlier version wrote holds each page's text, without positions."""
    data = (shared_data / "pdfs" / "en-google-doc-example.pdf").read_bytes()
    checkpoint = PageCheckpoint()
    checkpoint.add("Example document\nBeautiful is better than ugly.")
    document = PdfLoader().load_resuming(data, ignore_progress, checkpoint)
    assert "Beautiful is better than ugly." in document.sections[0].text


@pytest.mark.slow
def test_a_question_about_a_table_row_cites_its_page(tmp_path: Path, shared_data: Path) -> None:
    data = (shared_data / "pdfs" / "en-google-doc-example.pdf").read_bytes()
    with service_with(tmp_path, "kb", "countries.pdf", data) as client:
        body = client.post(
            "/api/collections/kb/query",
            json={"question": "What is the capital of Austria?"},
        ).json()
    assert not body["abstained"], body
    cited = body["citations"][0]
    assert cited["filename"] == "countries.pdf" and cited["page"] == 1
    # The row is quoted; the header row that says which column is Austria's is its context,
    # in the cited chunk.
    assert "Capital | Jakarta | Berlin | Vienna | Paris | Vatican City" in body["answer"]
    chunk = next(c for c in body["chunks"] if c["n"] == cited["n"])
    assert "| Indonesia | Germany | Austria | France | Vatican" in chunk["text"]
