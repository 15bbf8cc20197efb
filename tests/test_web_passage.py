"""The page's passage view in headless Chromium against a real service: each [n] of an answer
marks the sentence of the passage it cites, not the passage's first sentence nor every
sentence the passage lends the answer."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from bench.chroma_server import free_port
from tests.browser import CHROMIUM_ARGS, add_document, ensure_chromium, running
from tests.conftest import make_settings

PDF = "en-geobase-nhn-data-model.pdf"
QUESTION = "When was Draft 01 of the National Hydro Network data model produced?"
_CITED = re.compile(r"(.+?)\s\[(\d+)\]")


@pytest.mark.slow
def test_each_citation_marks_the_sentence_it_cites(tmp_path: Path, shared_data: Path) -> None:
    from playwright.sync_api import sync_playwright

    settings = make_settings(tmp_path / "data", port=free_port())
    with running(settings) as service, sync_playwright() as playwright:
        job = add_document(service.url, "Models", PDF, (shared_data / "pdfs" / PDF).read_bytes())
        assert job["state"] == "done", job
        answer = httpx.post(
            f"{service.url}/api/collections/Models/query", json={"question": QUESTION}, timeout=60
        ).json()["answer"]
        cited = [(int(n), s.strip()) for s, n in _CITED.findall(answer)]
        first = cited[0][0]
        sentences = [s for n, s in cited if n == first]
        assert len(sentences) >= 2

        browser = playwright.chromium.launch(
            executable_path=ensure_chromium(), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_context(
            locale="en-US", viewport={"width": 1360, "height": 860}
        ).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(service.url)
        page.locator("#collection-select").select_option("Models")
        page.locator("li.doc[data-status=ready]").wait_for()
        box = page.locator("#question")
        box.fill(QUESTION)
        box.press("Enter")
        reply = page.locator(".msg-assistant:not(.is-streaming)").first
        reply.wait_for(timeout=60_000)

        buttons = reply.locator(f'.answer button.cite[data-n="{first}"]')
        assert buttons.count() == len(sentences)
        passage = page.locator("#passage .passage-text")
        for button, sentence in zip(buttons.all(), sentences, strict=True):
            button.click()
            marks = passage.locator("mark")
            assert marks.count() == 1
            # The passage keeps the PDF's line breaks; the answer reads them as spaces.
            assert " ".join(marks.inner_text().split()) == sentence
            page.keyboard.press("Escape")
        # Opened from the sources list, the passage marks every sentence the answer quotes.
        reply.locator(".source").first.click()
        marked = [" ".join(m.split()) for m in passage.locator("mark").all_inner_texts()]
        assert marked == sentences
        assert "GeoBase" not in reply.locator(".answer").inner_text()
        assert errors == []
        browser.close()
