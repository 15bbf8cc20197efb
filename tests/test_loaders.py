"""Loaders turn real files into sections, or refuse them with a reason a user can act on."""

from __future__ import annotations

import functools
import io
import json
import random
import re
import time
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE

from core.errors import LoadError
from core.types import LoadedDocument
from ingest.loaders import LOADERS
from ingest.loaders.archive import MAX_UNCOMPRESSED_BYTES
from ingest.loaders.docx import DocxLoader
from ingest.loaders.html import HtmlLoader
from ingest.loaders.markdown import MarkdownLoader
from ingest.loaders.pdf import PdfLoader, looks_garbled
from ingest.loaders.text import TextLoader
from ingest.sniff import sniff_media_type
from ingest.text_encoding import CONTROL_CHARS, decode_text
from tests.conftest import SHARED_DATA

GOOD_PDF_PAGES = {
    "en-elegantpaper-guide.pdf": 5,
    "en-ethereum-yellowpaper.pdf": 42,
    "en-free-culture-lessig.pdf": 352,
    "en-geobase-nhn-data-model.pdf": 19,
    "en-google-doc-example.pdf": 1,
    "zh-elegantnote-guide.pdf": 8,
    "zh-elegantpaper-guide.pdf": 5,
    "zh-install-latex-guide.pdf": 5,
    "zh-java-dev-manual-huangshan.pdf": 55,
}

QA_FILE = SHARED_DATA / "qa" / "pdf_qa.jsonl"
QA = [json.loads(line) for line in QA_FILE.read_text(encoding="utf-8").splitlines() if line]
PDF_QA = [q for q in QA if q["file"] and q["file"].startswith("pdfs/")]
DOC_QA = [q for q in QA if q["file"] and q["file"].startswith("docs/")]


def ignore_progress(done: int, total: int) -> None:
    pass


def squash(text: str) -> str:
    """Compare text as the QA set does (whitespace removed), after the loaders' own repairs:
    ligatures spelled out, words hyphenated at a line end joined again, table cells apart."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"(?<=[^\W\d_])-\s+(?=[a-z])", "", text)
    # A table's cells are set apart by " | " (ingest/loaders/tables.py).
    return "".join(text.replace(" | ", " ").split())


def whole_text(document: LoadedDocument) -> str:
    return "\n\n".join(section.text for section in document.sections)


@pytest.fixture(scope="module")
def load_file(shared_data: Path) -> Callable[[str], tuple[LoadedDocument, list[tuple[int, int]]]]:
    """Load a shared file once per module, through sniffing and the registry, as the
    pipeline does; returns the document and the progress calls it made."""

    @functools.cache
    def load(relative: str) -> tuple[LoadedDocument, list[tuple[int, int]]]:
        data = (shared_data / relative).read_bytes()
        calls: list[tuple[int, int]] = []
        loader = LOADERS.create(sniff_media_type(data, Path(relative).name))
        document = loader.load(data, lambda done, total: calls.append((done, total)))
        return document, calls

    return load


@pytest.mark.parametrize(("name", "pages"), sorted(GOOD_PDF_PAGES.items()))
def test_every_good_pdf_loads_with_text_on_numbered_pages(
    load_file: Callable[[str], tuple[LoadedDocument, list[tuple[int, int]]]],
    name: str,
    pages: int,
) -> None:
    document, calls = load_file(f"pdfs/{name}")

    assert document.media_type == "application/pdf"
    assert document.pages == pages
    numbers = [section.page or 0 for section in document.sections]
    assert numbers == sorted(numbers)  # a page's sections (one per heading), pages in order
    assert all(1 <= number <= pages for number in numbers)
    assert len(set(numbers)) >= pages * 0.9
    assert all(
        section.text and section.text == section.text.strip() for section in document.sections
    )
    # Offsets within the page's text: each section starts after the one before it, past the
    # line break (or blank line, by a table) between them.
    for previous, section in zip(document.sections, document.sections[1:], strict=False):
        if section.page == previous.page:
            gap = section.offset - previous.offset - len(previous.text)
            assert gap in (1, 2)
        else:
            assert section.offset == 0
    # zh-elegantnote-guide.pdf's maths font maps symbols to control codes, NUL among them,
    # which a PostgreSQL text column refuses.
    assert not any(CONTROL_CHARS.search(section.text) for section in document.sections)
    assert calls == [(done, pages) for done in range(1, pages + 1)]


@pytest.mark.parametrize("qa", PDF_QA, ids=[f"{q['file']}:{q['page']}" for q in PDF_QA])
def test_qa_evidence_is_on_its_page(
    load_file: Callable[[str], tuple[LoadedDocument, list[tuple[int, int]]]],
    qa: dict[str, Any],
) -> None:
    document, _ = load_file(qa["file"])
    on_page = [section.text for section in document.sections if section.page == qa["page"]]
    assert squash(qa["evidence"]) in squash("\n\n".join(on_page))


@pytest.mark.parametrize("qa", DOC_QA, ids=[q["file"] for q in DOC_QA])
def test_qa_evidence_is_in_the_loaded_document(
    load_file: Callable[[str], tuple[LoadedDocument, list[tuple[int, int]]]],
    qa: dict[str, Any],
) -> None:
    document, calls = load_file(qa["file"])
    assert squash(qa["evidence"]) in squash(whole_text(document))
    assert all(section.page is None for section in document.sections)
    assert calls[-1] == (1, 1)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "encrypted.pdf",
            "the PDF is encrypted and needs a password; remove the password and upload it again",
        ),
        ("truncated.pdf", "the PDF is corrupt or truncated: Stream has ended unexpectedly"),
        ("corrupted-trailer.pdf", "the PDF is corrupt or truncated: Trailer cannot be read"),
        ("corrupted-no-startxref.pdf", "the PDF is corrupt or truncated: startxref not found"),
        (
            "image-only.pdf",
            "no extractable text: the PDF looks scanned or image-only (1 page); "
            "OCR is turned off (ZHIKU_OCR)",
        ),
        (
            "image-only-multipage.pdf",
            "no extractable text: the PDF looks scanned or image-only (6 pages); "
            "OCR is turned off (ZHIKU_OCR)",
        ),
        (
            "zh-garbled-text-layer.pdf",
            "the PDF's text layer is unreadable (garbled font encoding); OCR is turned off"
            " (ZHIKU_OCR)",
        ),
    ],
)
def test_hostile_pdf_is_refused_with_its_reason(shared_data: Path, name: str, message: str) -> None:
    """As with ZHIKU_OCR=false: a loader made without an OCR engine (tests/test_ocr.py reads
    the scans)."""
    data = (shared_data / "pdfs" / "hostile" / name).read_bytes()
    with pytest.raises(LoadError) as raised:
        PdfLoader().load(data, ignore_progress)
    assert raised.value.message.startswith(message)


def test_pdf_with_only_an_owner_password_loads(shared_data: Path) -> None:
    data = (shared_data / "pdfs" / "hostile" / "encrypted-owner-password-only.pdf").read_bytes()
    document = PdfLoader().load(data, ignore_progress)
    assert document.pages == 1
    assert "asdfzxcv" in whole_text(document)


def test_damaged_pdf_bytes_load_or_fail_with_a_load_error(shared_data: Path) -> None:
    original = (shared_data / "pdfs" / "en-google-doc-example.pdf").read_bytes()
    rng = random.Random(20240611)
    for cut in (len(original) // 3, len(original) // 2, len(original) - 200):
        with pytest.raises(LoadError):
            PdfLoader().load(original[:cut] + b"garbage", ignore_progress)
    for _ in range(25):
        damaged = bytearray(original)
        for _ in range(20):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            PdfLoader().load(bytes(damaged), ignore_progress)
        except LoadError as exc:
            assert exc.message
        # Anything else escaping here is a bug: pypdf's errors must become LoadError.


def test_chinese_lines_wrapped_by_the_layout_are_joined(
    load_file: Callable[[str], tuple[LoadedDocument, list[tuple[int, int]]]],
) -> None:
    document, _ = load_file("pdfs/zh-java-dev-manual-huangshan.pdf")
    page_two = next(section.text for section in document.sections if section.page == 2)
    # pypdf gives "当\n前的最新版本"; the newline was only the end of a printed line.
    assert "当前的最新版本是黄山版。" in page_two
    note, _ = load_file("pdfs/zh-elegantnote-guide.pdf")
    # A heading is a line of its own; the outline's title is the heading path.
    design = next(s for s in note.sections if "此模板设计的初衷" in s.text)
    assert design.text.startswith("1 模板设计\n此模板设计的初衷")
    assert design.heading_path == ("模板设计",)


def test_english_words_hyphenated_at_line_ends_are_joined(
    load_file: Callable[[str], tuple[LoadedDocument, list[tuple[int, int]]]],
) -> None:
    document, _ = load_file("pdfs/en-free-culture-lessig.pdf")
    page = next(section.text for section in document.sections if section.page == 20)
    assert "at a meeting of the Institute of Radio Engineers" in page
    assert "four patents were issued to Armstrong" in page
    assert "most significant invention" in page  # the "ﬁ" ligature spelled out


def test_garbled_detector_accepts_text_in_one_script_and_flags_mojibake() -> None:
    arabic = "موزيلا هي مجتمع برمجيات حرة تأسس عام 1998 على يد أعضاء من نتسكيب. " * 20
    russian = "Мозилла — сообщество свободного программного обеспечения. " * 20
    greek_maths = "Let σ be the world state and μ the machine state; Σ, Θ, Λ. " * 20
    mojibake = "ၛ෾٘ğ၂ᇕνಆಀᇏྏ֥߄๙ႨࢌၞᅬЧ EIP-150 ϱЧ ჰ໓ቔᆀ ၲᆀ ჶۢ ۚ฿ ࢌၞሳׅඎ۴ݗׄࢫ༐ " * 20
    assert not looks_garbled(arabic)
    assert not looks_garbled(russian)
    assert not looks_garbled(greek_maths)
    assert looks_garbled(mojibake)
    assert looks_garbled("English text around it. " * 20 + mojibake)


def test_the_three_encodings_of_the_prompt_guide_decode_identically(shared_data: Path) -> None:
    docs = shared_data / "docs"
    utf8 = decode_text((docs / "zh-prompt-guide.txt").read_bytes())
    gbk = decode_text((docs / "zh-prompt-guide.gbk.txt").read_bytes())
    utf16 = decode_text((docs / "zh-prompt-guide.utf16.txt").read_bytes())
    assert utf8 == gbk == utf16
    assert "角色提示技术是通过为ChatGPT指定一个特定的角色来引导其输出的一种方式" in utf8
    assert "\r" not in utf8


def test_text_decoding_handles_boms_bomless_utf16_and_newlines() -> None:
    text = "第一行 line one\r\n第二行 line two\r第三行\n"
    expected = "第一行 line one\n第二行 line two\n第三行\n"
    assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8")) == expected
    assert decode_text(text.encode("utf-16")) == expected
    assert decode_text(text.encode("utf-16-le")) == expected
    assert decode_text(text.encode("utf-16-be")) == expected
    assert decode_text(text.encode("gb18030")) == expected
    assert decode_text("Grüße aus München, très café. ".encode("cp1252") * 4).startswith("Grüße")


def test_bytes_full_of_nuls_or_control_characters_are_not_text() -> None:
    message = "could not decode the text: not UTF-8, UTF-16 or GB18030"
    with pytest.raises(LoadError, match=message):
        decode_text(b"abc\x00\x00\x01\x02def" * 50)
    with pytest.raises(LoadError, match=message):
        decode_text(bytes(range(1, 32)) * 20)


def test_plain_text_is_one_section_and_blank_text_is_refused() -> None:
    document = TextLoader().load("\n\n  Hello 世界.\n".encode(), ignore_progress)
    assert [(s.text, s.offset, s.page) for s in document.sections] == [("Hello 世界.", 4, None)]
    assert document.pages == 1
    with pytest.raises(LoadError, match="the file has no text"):
        TextLoader().load(b" \n\t\r\n ", ignore_progress)


def test_word_headings_build_heading_paths_and_offsets(
    load_file: Callable[[str], tuple[LoadedDocument, list[tuple[int, int]]]],
) -> None:
    document, _ = load_file("docs/en-doj-chapter13-trustee-handbook.docx")
    purpose = next(s for s in document.sections if s.heading_path[-1:] == ("A. PURPOSE",))
    assert purpose.heading_path == ("CHAPTER 1 – INTRODUCTION", "A. PURPOSE")
    assert purpose.text.startswith("A. PURPOSE\n\nThe United States Trustee appoints")
    text = whole_text(document)
    assert all(text[s.offset : s.offset + len(s.text)] == s.text for s in document.sections)
    assert document.pages == 1 and all(s.page is None for s in document.sections)


def test_large_word_document_loads_in_seconds(shared_data: Path) -> None:
    data = (shared_data / "docs" / "en-doj-chapter13-trustee-handbook.docx").read_bytes()
    started = time.perf_counter()
    document = DocxLoader().load(data, ignore_progress)
    assert time.perf_counter() - started < 8
    assert len(document.sections) > 250


def word_file(build: Callable[[docx.document.Document], None]) -> bytes:
    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_word_tables_stay_in_place_and_chinese_heading_styles_count() -> None:
    def build(document: docx.document.Document) -> None:
        document.styles.add_style("标题 1", WD_STYLE_TYPE.PARAGRAPH)
        document.add_paragraph("Handbook", style="Title")
        document.add_paragraph("Preface text.")
        document.add_heading("Fees", level=1)
        document.add_paragraph("Before the table.")
        table = document.add_table(rows=2, cols=3)
        rows = [["Item", "Fee", "Due"], ["Filing", "$313", "now"]]
        for row, values in zip(table.rows, rows, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
        table.rows[0].cells[1].merge(table.rows[0].cells[2])
        document.add_paragraph("After the table.")
        document.add_heading("Waivers", level=2)
        document.add_paragraph("Waiver text.")
        document.add_paragraph("费用说明", style="标题 1")
        document.add_paragraph("中文正文。")

    document = DocxLoader().load(word_file(build), ignore_progress)

    paths = [s.heading_path for s in document.sections]
    assert paths == [
        ("Handbook",),
        ("Handbook", "Fees"),
        ("Handbook", "Fees", "Waivers"),
        ("Handbook", "费用说明"),
    ]
    fees = document.sections[1].text
    assert fees.split("\n\n") == [
        "Fees",
        "Before the table.",
        "Item | Fee Due\nFiling | $313 | now",
        "After the table.",
    ]


def test_chinese_word_document_loads(
    load_file: Callable[[str], tuple[LoadedDocument, list[tuple[int, int]]]],
) -> None:
    document, _ = load_file("docs/zh-analysis-reading-note.docx")
    assert "可从19页看起" in whole_text(document)


def test_corrupt_word_document_is_a_load_error(shared_data: Path) -> None:
    data = (shared_data / "docs" / "zh-analysis-reading-note.docx").read_bytes()
    with pytest.raises(LoadError, match="the Word document is corrupt"):
        DocxLoader().load(data[: len(data) // 2], ignore_progress)


def test_word_zip_bomb_is_refused_before_unpacking() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            block = bytes(1 << 20)
            for _ in range(MAX_UNCOMPRESSED_BYTES // len(block) + 1):
                member.write(block)
    assert len(buffer.getvalue()) < 1 << 20
    with pytest.raises(LoadError, match="zip bomb"):
        DocxLoader().load(buffer.getvalue(), ignore_progress)


def test_markdown_headings_ignore_fenced_code_and_nest_by_level() -> None:
    text = (
        "Intro line.\n\n"
        "# Install\n\nRun it:\n\n```bash\n# not a heading\npip install x\n```\n\n"
        "## On Linux\n\nUse apt.\n\n"
        "##没有空格的中文标题\n\n正文。\n\n"
        "# Usage\n\nCall it.\n"
    )
    document = MarkdownLoader().load(text.encode(), ignore_progress)

    assert [s.heading_path for s in document.sections] == [
        (),
        ("Install",),
        ("Install", "On Linux"),
        ("Install", "没有空格的中文标题"),
        ("Usage",),
    ]
    install = document.sections[1].text
    assert install.startswith("# Install\n") and "# not a heading" in install
    assert all(text[s.offset : s.offset + len(s.text)] == s.text for s in document.sections)


def test_real_markdown_file_gets_heading_paths(
    load_file: Callable[[str], tuple[LoadedDocument, list[tuple[int, int]]]],
) -> None:
    document, _ = load_file("docs/en-pypdf-extract-text.md")
    assert document.media_type == "text/markdown"
    assert ("Extract Text from a PDF", "Why Text Extraction is hard", "Whitespaces") in [
        s.heading_path for s in document.sections
    ]


def test_markdown_inline_html_reads_as_its_text_and_code_keeps_its_tags(
    load_file: Callable[[str], tuple[LoadedDocument, list[tuple[int, int]]]],
) -> None:
    document, _ = load_file("docs/zh-java-naming-rules.md")
    text = whole_text(document)
    assert "<span" not in text and "<br>" not in text and "<code>" not in text
    assert "正例：MarcoPolo / UserDO" in text
    assert "定义整形数组 int[] arrayDemo;" not in text and "定义整形数组int[] arrayDemo;" in text
    written = "A <b>bold</b> word<br>and `List<span>` in code.\n\n```\n<span>kept</span>\n```\n"
    loaded = MarkdownLoader().load(written.encode(), ignore_progress)
    assert (
        whole_text(loaded) == "A bold word and `List<span>` in code.\n\n```\n<span>kept</span>\n```"
    )


def test_html_main_text_drops_scripts_and_navigation(
    load_file: Callable[[str], tuple[LoadedDocument, list[tuple[int, int]]]],
) -> None:
    document, _ = load_file("docs/zh-gmw-space-alcohol-news.html")
    text = whole_text(document)
    assert "宇航员" in text
    assert "伏特加" in text
    for noise in ("function(", "document.", "var ", "google", "<script", "光明图片", "我要投稿"):
        assert noise not in text, noise
    assert document.sections[0].heading_path == ("宇航员在太空中喝酒会怎么样？后果很严重",)


def test_html_headings_become_heading_paths_without_markup(
    load_file: Callable[[str], tuple[LoadedDocument, list[tuple[int, int]]]],
) -> None:
    document, _ = load_file("docs/en-wikipedia-mozilla.html")
    paths = [s.heading_path for s in document.sections]
    assert ("Mozilla", "History[edit]") in paths
    text = whole_text(document)
    assert "Mozilla is a free-software community, created in 1998" in text
    assert "<sup>" not in text and "**" not in text
    assert "Jump to: navigation" not in text


def test_html_declared_charset_is_honoured() -> None:
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        "<title>测试页面</title><script>var tracker = 1;</script></head><body>"
        "<nav>首页 | 新闻</nav><article><h1>测试页面</h1>"
        "<p>这是一段用国标编码保存的中文正文，里面有足够多的文字。</p></article></body></html>"
    )
    document = HtmlLoader().load(page.encode("gbk"), ignore_progress)
    text = whole_text(document)
    assert "这是一段用国标编码保存的中文正文" in text
    assert "tracker" not in text and "首页 | 新闻" not in text


def test_html_without_text_is_refused() -> None:
    page = b"<html><head><script>run()</script></head><body><nav>Home</nav></body></html>"
    with pytest.raises(LoadError, match="no extractable text in the HTML page"):
        HtmlLoader().load(page, ignore_progress)
