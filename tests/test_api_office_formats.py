"""Slides, sheets, CSV and books through the HTTP API: each question's answer is only in one
structure (a slide's text or its speaker notes, one row of a long sheet, one chapter), and the
citation points at it: the slide as the page, the sheet and its rows, the chapter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings, upload_and_wait
from tests.office_files import book, deck, workbook

pytestmark = pytest.mark.slow

PRODUCTS = ["智能水表", "Titanium Hinge Bracket", "光纤收发器", "Solar Charge Controller"]
SALES = [("产品编号", "产品名称", "单价（元）", "库存", "仓库")] + [
    (f"P-{n:04d}", f"{PRODUCTS[n % 4]} {n}型", 100 + n * 3, n * 11 % 97, f"{n % 7 + 1}号仓")
    for n in range(1, 181)
]
INVENTORY = (
    [("SKU", "Item", "Unit price (USD)", "Supplier")]
    + [
        (f"SKU-{n:03d}", f"Widget model {n}", f"{n * 1.25:.2f}", f"Supplier {n % 9}")
        for n in range(1, 80)
    ]
    + [("SKU-777", "Marble chessboard with walnut pieces", "389.00", "Hangzhou Crafts Co.")]
)
CITIES = (
    "城市,常住人口（万）,面积（平方公里）\n"
    + "".join(f"城市{n},{n * 13},{n * 101}\n" for n in range(1, 60))
    + "攀枝花,121.2,7414\n"
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("office")
    files = {
        "products.xlsx": workbook({"库存": SALES, "Inventory": INVENTORY}),
        "roadmap.pptx": deck(
            [
                ("Quarterly review", "Revenue grew 12% over the year.", ""),
                ("Hiring plan", "Two engineers join the search team in spring.", ""),
                (
                    "Offline OCR rollout",
                    "Scanned contracts become searchable without any network.",
                    "The rollout date for offline OCR is 14 March 2027, after the pilot ends.",
                ),
                ("市场计划", "今年重点拓展西南地区的制造业客户。", ""),
                ("试点安排", "华东区先行试点。", "备注：华东区的试点客户是杭州的三家三甲医院。"),
            ]
        ),
        "cities.csv": CITIES.encode("gb18030"),
        # Named .zip: the service knows a book by its bytes.
        "story.zip": book(
            "知库的故事",
            [
                ("第一章 缘起", ["知库最早的名字叫做“书架”，是一个周末项目。"]),
                ("Chapter 2: Growth", ["In 2024 the team moved its office to a lakeside campus."]),
                ("第三章 未来", ["下一步计划支持更多的文件格式。"]),
            ],
        ),
    }
    with TestClient(create_app(make_settings(folder / "data"))) as test_client:
        for name, data in files.items():
            job = upload_and_wait(test_client, "kb", name, data)
            assert job["state"] == "done", job
        yield test_client


def ask(client: TestClient, question: str) -> dict[str, Any]:
    response = client.post("/api/collections/kb/query", json={"question": question})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert not body["abstained"], body
    return body


def cited(body: dict[str, Any], filename: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first citation of `filename` and the chunk it cites."""
    citation = next(c for c in body["citations"] if c["filename"] == filename)
    chunk = next(c for c in body["chunks"] if c["n"] == citation["n"])
    return citation, chunk


def rows_of(heading: str) -> range:
    match = re.fullmatch(r"rows? (\d+)(?:–(\d+))?", heading)
    assert match is not None, heading
    return range(int(match.group(1)), int(match.group(2) or match.group(1)) + 1)


def test_documents_list_their_real_types_and_slides_as_pages(client: TestClient) -> None:
    documents = {d["filename"]: d for d in client.get("/api/collections/kb/documents").json()}
    assert documents["story.zip"]["media_type"] == "application/epub+zip"
    assert documents["cities.csv"]["media_type"] == "text/csv"
    assert documents["roadmap.pptx"]["pages"] == 5
    assert documents["products.xlsx"]["pages"] == 2


def test_a_row_of_a_long_chinese_sheet_is_found_with_its_header_and_rows(
    client: TestClient,
) -> None:
    row = SALES[137]  # sheet row 138
    body = ask(client, f"产品编号 {row[0]} 的单价是多少元？")
    citation, chunk = cited(body, "products.xlsx")
    assert citation["page"] is None
    sheet, rows = chunk["heading_path"]
    assert sheet == "库存" and 138 in rows_of(rows)
    lines = chunk["text"].split("\n")
    assert lines[0] == "产品编号 | 产品名称 | 单价（元） | 库存 | 仓库"
    assert " | ".join(str(v) for v in row) in lines
    assert str(row[2]) in body["answer"]


def test_a_row_of_an_english_sheet_is_found_on_its_sheet(client: TestClient) -> None:
    body = ask(client, "What is the unit price of the marble chessboard with walnut pieces?")
    _, chunk = cited(body, "products.xlsx")
    assert chunk["heading_path"][0] == "Inventory" and 81 in rows_of(chunk["heading_path"][1])
    assert chunk["text"].startswith("SKU | Item | Unit price (USD) | Supplier\n")
    assert "389.00" in body["answer"]


def test_speaker_notes_answer_with_their_slide_as_the_page(client: TestClient) -> None:
    body = ask(client, "When is the rollout date for offline OCR?")
    citation, chunk = cited(body, "roadmap.pptx")
    assert citation["page"] == 3 and chunk["heading_path"] == ["Offline OCR rollout"]
    assert "14 March 2027" in body["answer"]

    body = ask(client, "华东区的试点客户是谁？")
    citation, chunk = cited(body, "roadmap.pptx")
    assert citation["page"] == 5 and chunk["heading_path"] == ["试点安排"]
    assert "三甲医院" in body["answer"]


def test_a_csv_row_is_cited_by_its_rows(client: TestClient) -> None:
    body = ask(client, "攀枝花的常住人口是多少万？")
    _, chunk = cited(body, "cities.csv")
    assert 61 in rows_of(chunk["heading_path"][0])
    assert chunk["text"].startswith("城市 | 常住人口（万） | 面积（平方公里）\n")
    assert "121.2" in body["answer"]


def test_an_epub_chapter_answers_under_its_title(client: TestClient) -> None:
    body = ask(client, "知库最早的名字叫什么？")
    _, chunk = cited(body, "story.zip")
    assert chunk["heading_path"][0] == "第一章 缘起" and "书架" in body["answer"]

    body = ask(client, "Where did the team move its office in 2024?")
    _, chunk = cited(body, "story.zip")
    assert chunk["heading_path"][0] == "Chapter 2: Growth" and "lakeside" in body["answer"]
