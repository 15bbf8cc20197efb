"""Tables in Word and HTML kept as tables: a row to a line, and the header row at the head of
every chunk a long table is split into, so that the chunk holding a row names its columns."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest

from core.embedding import Embedder
from core.types import LoadedDocument
from ingest.loaders.docx import DocxLoader
from ingest.loaders.html import HtmlLoader
from ingest.loaders.tables import markdown_tables, table_blocks
from ingest.split import Splitter
from tests.conftest import service_with

HEADER = ["City", "Tax rate", "Filing office"]
CN_HEADER = ["城市", "税率", "办理窗口"]


def ignore_progress(done: int, total: int) -> None:
    pass


def rows(count: int) -> list[list[str]]:
    return [
        [f"Town {n}", f"{n % 9 + 1}.{n % 7}%", f"Office on street number {n * 3}"]
        for n in range(count)
    ]


def cn_rows(count: int) -> list[list[str]]:
    return [
        [f"第{n}号城市", f"{n % 9 + 1}.{n % 7}%", f"市政服务中心{n}号窗口"] for n in range(count)
    ]


def word_table(header: list[str], body: list[list[str]]) -> bytes:
    document = docx.Document()
    document.add_heading("Local taxes", level=1)
    document.add_paragraph("The rates below apply from January.")
    table = document.add_table(rows=len(body) + 1, cols=len(header))
    for row, values in zip(table.rows, [header, *body], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("Rates change each year.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def html_table(header: list[str], body: list[list[str]]) -> bytes:
    cells = "".join(
        "<tr>" + "".join(f"<td>{value}</td>" for value in row) + "</tr>" for row in body
    )
    heads = "".join(f"<th>{value}</th>" for value in header)
    return (
        "<html><head><title>Local taxes</title></head><body><article><h1>Local taxes</h1>"
        "<p>The rates below apply from January in every town of the county listed here.</p>"
        f"<table><thead><tr>{heads}</tr></thead><tbody>{cells}</tbody></table>"
        "<p>Rates change each year, and the county publishes the new ones in December.</p>"
        "</article></body></html>"
    ).encode()


def test_a_long_table_repeats_its_header_row_in_each_block() -> None:
    blocks = table_blocks([HEADER, *rows(80)])
    assert len(blocks) > 3
    assert all(block.split("\n")[0] == "City | Tax rate | Filing office" for block in blocks)
    body = [line for block in blocks for line in block.split("\n")[1:]]
    assert body == [" | ".join(row) for row in rows(80)]  # every row once, in order
    chinese = table_blocks([CN_HEADER, *cn_rows(80)])
    assert len(chinese) > 3 and all(b.startswith("城市 | 税率 | 办理窗口\n") for b in chinese)
    # A short table is one block, as it was.
    assert table_blocks([HEADER, *rows(2)]) == [
        "\n".join(" | ".join(r) for r in [HEADER, *rows(2)])
    ]


def test_pipe_tables_become_rows_without_the_delimiter_row() -> None:
    markdown = "Intro.\n\n| City | Rate |\n|---|---|\n| Paris | 3% |\n| Rome | 4% |\n\nAfter."
    assert markdown_tables(markdown) == "Intro.\n\nCity | Rate\nParis | 3%\nRome | 4%\n\nAfter."


@pytest.mark.parametrize(("header", "body"), [(HEADER, rows(60)), (CN_HEADER, cn_rows(60))])
def test_every_chunk_of_a_long_word_table_starts_with_its_header(
    embedder: Embedder, header: list[str], body: list[list[str]]
) -> None:
    document = DocxLoader().load(word_table(header, body), ignore_progress)
    assert_chunks_carry_header(embedder, document, header, body)


@pytest.mark.parametrize(("header", "body"), [(HEADER, rows(60)), (CN_HEADER, cn_rows(60))])
def test_every_chunk_of_a_long_html_table_starts_with_its_header(
    embedder: Embedder, header: list[str], body: list[list[str]]
) -> None:
    document = HtmlLoader().load(html_table(header, body), ignore_progress)
    assert_chunks_carry_header(embedder, document, header, body)


def assert_chunks_carry_header(
    embedder: Embedder, document: LoadedDocument, header: list[str], body: list[list[str]]
) -> None:
    splitter = Splitter(embedder.count_tokens, embedder.token_spans, 254, 32, embedder.max_tokens)
    chunks = splitter.split(document)
    header_line = " | ".join(header)
    with_rows = [c for c in chunks if any(" | ".join(r) in c.text for r in body)]
    assert len(with_rows) >= 3
    for row in body:
        line = " | ".join(row)
        holding = [c for c in chunks if line in c.text.split("\n")]
        assert holding, line
        assert all(header_line in c.text.split("\n") for c in holding), line


@pytest.mark.slow
def test_a_question_about_a_word_table_row_finds_the_row(tmp_path: Path) -> None:
    data = word_table(HEADER, rows(60))
    with service_with(tmp_path, "kb", "taxes.docx", data) as client:
        body = client.post(
            "/api/collections/kb/query",
            json={"question": "What is the tax rate of Town 37?"},
        ).json()
    assert not body["abstained"], body
    assert "Town 37 | 2.2% | Office on street number 111" in body["answer"]
    assert body["citations"][0]["filename"] == "taxes.docx"


@pytest.mark.slow
def test_a_chinese_question_about_a_web_page_table_row_finds_the_row(tmp_path: Path) -> None:
    data = html_table(CN_HEADER, cn_rows(60))
    with service_with(tmp_path, "kb", "taxes.html", data) as client:
        body = client.post(
            "/api/collections/kb/query", json={"question": "第37号城市的税率是多少？"}
        ).json()
    assert not body["abstained"], body
    assert "第37号城市 | 2.2% | 市政服务中心37号窗口" in body["answer"]
    assert body["citations"][0]["filename"] == "taxes.html"
