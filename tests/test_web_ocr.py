"""A citation of text read by OCR says so on the page, in headless Chromium against a real
service: an "OCR" / "文字识别" mark in the sources list and in the passage panel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.chroma_server import free_port
from tests.browser import ServiceThread, add_document, chromium_browser, running
from tests.conftest import make_settings
from tests.scans import picture_bytes, scanned_page

pytestmark = pytest.mark.slow

QUESTION = "What is better than ugly?"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[ServiceThread]:
    settings = make_settings(tmp_path_factory.mktemp("ocr") / "data", port=free_port())
    with running(settings) as started:
        scan = scanned_page(shared_data / "pdfs" / "en-google-doc-example.pdf", 1)
        job = add_document(started.url, "Scans", "zen.png", picture_bytes(scan, "PNG"))
        assert job["state"] == "done", job
        yield started


@pytest.mark.parametrize(("locale", "mark"), [("en-US", "OCR"), ("zh-CN", "文字识别")])
def test_a_citation_of_ocr_text_carries_the_ocr_mark(
    service: ServiceThread, locale: str, mark: str
) -> None:
    with chromium_browser() as browser:
        context = browser.new_context(locale=locale, viewport={"width": 1360, "height": 860})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(service.url)
        page.locator("#collection-select").select_option("Scans")
        page.locator("li.doc[data-status=ready]").wait_for()
        page.locator("#question").fill(QUESTION)
        page.locator("#question").press("Enter")
        reply = page.locator(".msg-assistant:not(.is-streaming)").first
        reply.wait_for(timeout=60_000)

        source = reply.locator(".source").first
        assert source.locator(".badge-ocr").inner_text() == mark
        source.click()
        assert page.locator("#passage .badge-ocr").inner_text() == mark
        assert "Beautiful" in page.locator("#passage .passage-text").inner_text()
    assert errors == []
