"""Extractive answers on the page, in headless Chromium against a real service: each [n] marks
the sentence of the passage it cites (not the passage's first sentence, nor every sentence the
passage lends the answer), and a document's "# " at the start of an answer stays text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.chroma_server import free_port
from tests.browser import (
    ServiceThread,
    add_document,
    chromium_browser,
    running,
)
from tests.conftest import make_settings

PDF = "en-geobase-nhn-data-model.pdf"
QUESTION = "When was Draft 01 of the National Hydro Network data model produced?"
_CITED = re.compile(r"(.+?)\s\[(\d+)\]")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    settings = make_settings(tmp_path_factory.mktemp("passage") / "data", port=free_port())
    with running(settings) as started:
        yield started


@pytest.fixture
def page(service: ServiceThread) -> Iterator[Any]:
    with chromium_browser() as browser:
        context = browser.new_context(locale="en-US", viewport={"width": 1360, "height": 860})
        opened = context.new_page()
        errors: list[str] = []
        opened.on("pageerror", lambda e: errors.append(str(e)))
        yield opened
    assert errors == []


def _ask(page: Any, url: str, collection: str, question: str) -> Any:
    page.goto(url)
    page.locator("#collection-select").select_option(collection)
    page.locator("li.doc[data-status=ready]").wait_for()
    box = page.locator("#question")
    box.fill(question)
    box.press("Enter")
    reply = page.locator(".msg-assistant:not(.is-streaming)").first
    reply.wait_for(timeout=60_000)
    return reply


def test_each_citation_marks_the_sentence_it_cites(
    service: ServiceThread, page: Any, shared_data: Path
) -> None:
    job = add_document(service.url, "Models", PDF, (shared_data / "pdfs" / PDF).read_bytes())
    assert job["state"] == "done", job
    answer = httpx.post(
        f"{service.url}/api/collections/Models/query", json={"question": QUESTION}, timeout=60
    ).json()["answer"]
    cited = [(int(n), s.strip()) for s, n in _CITED.findall(answer)]
    first = cited[0][0]
    sentences = [s for n, s in cited if n == first]
    assert sentences

    reply = _ask(page, service.url, "Models", QUESTION)

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


def test_a_heading_the_answer_opens_with_shows_as_text(
    service: ServiceThread, page: Any, shared_data: Path
) -> None:
    guide = (shared_data / "docs" / "zh-prompt-guide.txt").read_bytes()
    assert add_document(service.url, "Guide", "zh-prompt-guide.txt", guide)["state"] == "done"

    reply = _ask(page, service.url, "Guide", "如何向 ChatGPT 提问以获得高质量答案？")

    answer = reply.locator(".answer")
    assert answer.inner_text().startswith("# 如何向 ChatGPT 提问以获得高质量答案")
    assert answer.locator("h1, h2, h3, h4, h5, h6").count() == 0
