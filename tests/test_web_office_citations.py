"""Citations of slides and sheet rows on the page, in headless Chromium against a real
service: a slide reads as a slide, not a page, and a sheet's rows as the sheet and its row
range, in English and in Chinese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from bench.chroma_server import free_port
from tests.browser import ServiceThread, add_document, chromium_browser, running
from tests.conftest import make_settings
from tests.office_files import deck, workbook

pytestmark = pytest.mark.slow

STOCK = [("产品编号", "产品名称", "单价（元）")] + [
    (f"P-{n:04d}", f"型号 {n}", 100 + n * 3) for n in range(1, 121)
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    settings = make_settings(tmp_path_factory.mktemp("office-web") / "data", port=free_port())
    with running(settings) as started:
        slides = deck(
            [
                ("Quarterly review", "Revenue grew 12% over the year.", ""),
                ("Hiring plan", "Two engineers join the search team in spring.", ""),
                (
                    "Offline OCR",
                    "Scans become searchable.",
                    "The OCR rollout date is 14 March 2027.",
                ),
            ]
        )
        for name, data in (("roadmap.pptx", slides), ("stock.xlsx", workbook({"库存": STOCK}))):
            assert add_document(started.url, "Office", name, data)["state"] == "done"
        yield started


def _ask(browser: Any, url: str, locale: str, question: str) -> tuple[Any, Any]:
    context = browser.new_context(locale=locale, viewport={"width": 1360, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.locator("#collection-select").select_option("Office")
    page.locator("li.doc[data-status=ready]").first.wait_for()
    box = page.locator("#question")
    box.fill(question)
    box.press("Enter")
    reply = page.locator(".msg-assistant:not(.is-streaming)").first
    reply.wait_for(timeout=60_000)
    assert errors == []
    return page, reply


def _source(reply: Any, filename: str) -> Any:
    return reply.locator(".source", has=reply.page.locator(".source-name", has_text=filename))


@pytest.mark.parametrize(
    ("locale", "slide", "panel", "slides"),
    [
        ("en-US", "slide 3", "Slide 3", "3 slides"),
        ("zh-CN", "第 3 张幻灯片", "第 3 张幻灯片", "3 张幻灯片"),
    ],
)
def test_a_slide_is_cited_as_a_slide(
    service: ServiceThread, locale: str, slide: str, panel: str, slides: str
) -> None:
    with chromium_browser() as browser:
        page, reply = _ask(browser, service.url, locale, "When is the OCR rollout date?")
        source = _source(reply, "roadmap.pptx").first
        assert source.locator(".source-page").inner_text() == slide
        source.click()
        facts = page.locator("#passage .passage-facts")
        assert panel in facts.inner_text()
        assert "PDF" not in page.locator("#passage .passage-actions").inner_text()
        assert slides in page.locator("li.doc", has_text="roadmap.pptx").inner_text()


@pytest.mark.parametrize(
    ("locale", "rows"),
    [("en-US", r"库存 · rows (\d+)–(\d+)"), ("zh-CN", r"库存 · 第 (\d+)–(\d+) 行")],
)
def test_a_sheet_row_is_cited_by_sheet_and_rows(
    service: ServiceThread, locale: str, rows: str
) -> None:
    with chromium_browser() as browser:
        page, reply = _ask(browser, service.url, locale, "产品编号 P-0100 的单价是多少元？")
        source = _source(reply, "stock.xlsx").first
        label = source.locator(".source-page").inner_text()
        match = re.fullmatch(rows, label)
        assert match is not None, label
        assert int(match.group(1)) <= 101 <= int(match.group(2))  # P-0100 is on row 101
        source.click()
        trail = page.locator("#passage .passage-trail").inner_text()
        assert trail.startswith("库存 › ") and trail.split(" › ")[1] in label
        assert label in page.locator("#passage .passage-facts").inner_text()
