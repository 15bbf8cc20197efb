"""What an extractive answer quotes of real PDF text: sentences the PDF broke over lines read
as one line (English with a space, Chinese without), page numbers and running headers and
footers are in no quote, and a quote that starts like a Markdown block is escaped."""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

import pytest
from pypdf import PdfReader

from core.answer.prompt import DEFAULT_SYSTEM, build_prompt
from core.answer.quotes import as_text, is_page_number, quotes, running_lines
from core.llm.extractive import ExtractiveLLM
from core.types import ChunkDraft
from tests.conftest import make_settings, passage


@cache
def _pages(path: Path) -> tuple[str, ...]:
    """The pages as pypdf extracts them, line breaks inside sentences and all."""
    return tuple(page.extract_text() for page in PdfReader(path).pages)


def _page_chunks(pages: tuple[str, ...]) -> list[ChunkDraft]:
    return [ChunkDraft(n, text, n + 1, (), 0, len(text), 0) for n, text in enumerate(pages)]


def _quote_with(text: str, words: str, running: frozenset[str] = frozenset()) -> str:
    return next(q.text for q in quotes(text, True, running) if words in q.text)


def test_an_english_sentence_broken_over_lines_reads_as_one_line(shared_data: Path) -> None:
    page = _pages(shared_data / "pdfs" / "en-ethereum-yellowpaper.pdf")[0]
    assert "has demonstrated its\nutility" in page
    assert _quote_with(page, "Bitcoin being") == (
        "The blockchain paradigm when coupled with cryptographically-secured transactions has "
        "demonstrated its utility through a number of projects, with Bitcoin being one of the "
        "most notable ones."
    )


def test_a_chinese_sentence_broken_over_lines_is_joined_without_a_space(
    shared_data: Path,
) -> None:
    page = _pages(shared_data / "pdfs" / "zh-java-dev-manual-huangshan.pdf")[1]
    assert "一线\n实战" in page and "当\n前的最新版本" in page
    quoted = _quote_with(page, "黄山版")
    assert "《Java 开发手册》是 Java 社区爱好者的集体智慧结晶和经验总结" in quoted
    assert "一线实战的检验" in quoted and quoted.endswith("当前的最新版本是黄山版。")
    # Chinese next to a Latin word keeps the space the sentence had.
    guide = _pages(shared_data / "pdfs" / "zh-install-latex-guide.pdf")[0]
    assert "推荐使用\nWinCDEmu" in guide
    assert _quote_with(guide, "WinCDEmu").endswith("推荐使用 WinCDEmu 进行加载。")


def test_running_headers_footers_and_page_numbers_are_in_no_quote(shared_data: Path) -> None:
    geobase = _pages(shared_data / "pdfs" / "en-geobase-nhn-data-model.pdf")
    running = running_lines(_page_chunks(geobase))
    assert running == {"National Hydro Network, Data Model – Edition #.# #-#", "GeoBase® #"}
    page = geobase[4]
    assert page.startswith("National Hydro Network, Data Model – Edition 1.0 2004-06 \nGeoBase® v")
    found = [q.text for q in quotes(page, True, running)]
    assert found[0].startswith("ABBREVIATIONS")
    assert not any("GeoBase" in q or "Edition 1.0" in q for q in found)

    manual = _pages(shared_data / "pdfs" / "zh-java-dev-manual-huangshan.pdf")
    running = running_lines(_page_chunks(manual))
    # Labels such as "反例：" open several pages too, and stay.
    assert running == {"Java 开发手册（黄山版）"}
    page = manual[3]
    assert page.startswith("Java 开发手册（黄山版） \n \n1/51 \n")
    found = [q.text for q in quotes(page, True, running)]
    assert found[0].startswith("一、编程规约 (一) 命名风格 1.【强制】所有编程相关的命名")
    assert not any("1/51" in q or "Java 开发手册（黄山版）" in q for q in found)
    # Unpaged text (Markdown, Word) keeps every line: a number alone there is content.
    assert quotes("2019\nwas the year.", False)[0].text == "2019 was the year."


@pytest.mark.parametrize(
    ("line", "page_number"),
    [
        ("7", True),
        ("- 12 -", True),
        ("xiv", True),
        ("Page 7 of 51", True),
        ("7/51", True),
        ("第 7 页", True),
        ("第7页 共51页", True),
        ("civil", False),
        ("I", False),
        ("2019 budget", False),
    ],
)
def test_page_number_lines(line: str, page_number: bool) -> None:
    assert is_page_number(line) is page_number


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("# 第一章：Prompt工程技术简介", "\\# 第一章：Prompt工程技术简介"),
        ("> quoted", "\\> quoted"),
        ("- item", "\\- item"),
        ("1. Step one", "1\\. Step one"),
        ("---", "\\---"),
        ("```", "\\```"),
        ("#hashtag", "#hashtag"),
        ("8.【强制】超过 120 个字符", "8.【强制】超过 120 个字符"),
        ("3.5 GB of RAM", "3.5 GB of RAM"),
    ],
)
def test_a_leading_markdown_block_marker_is_escaped(line: str, shown: str) -> None:
    assert as_text(line) == shown


def test_an_answer_that_starts_with_a_documents_heading_shows_it_as_text(
    shared_data: Path,
) -> None:
    guide = (shared_data / "docs" / "zh-prompt-guide.txt").read_text(encoding="utf-8")
    start = guide.index("\n# ") + 1
    text = guide[start : guide.index("我们将探讨", start)]
    heading = text.splitlines()[0]
    assert heading == "# 如何向 ChatGPT 提问以获得高质量答案：提示技巧工程完全指南"
    passages = [passage(1, text, "d1", "zh-prompt-guide.txt")]
    prompt = build_prompt("如何向 ChatGPT 提问以获得高质量答案？", passages, "zh", DEFAULT_SYSTEM)

    async def answer() -> str:
        llm = ExtractiveLLM(make_settings(Path("unused")))
        return "".join([delta async for delta in llm.stream(prompt)])

    assert asyncio.run(answer()).startswith("\\" + heading + " [1]")


def test_a_line_of_punctuation_alone_is_no_sentence_to_quote() -> None:
    # What OCR leaves of a scanned page's stray marks: a "。" on a line of its own.
    text = "。\n添加护眼模式，颜色为绿豆沙颜色。\n。\n5套颜色主题。"
    assert [q.text for q in quotes(text, paged=True)] == [
        "添加护眼模式，颜色为绿豆沙颜色。",
        "5套颜色主题。",
    ]
