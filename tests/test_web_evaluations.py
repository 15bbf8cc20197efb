"""A knowledge base's evaluations on the page, in headless Chromium against a real service: its
settings show that it was never evaluated, run a golden set uploaded there, follow it to its
result and link to the latest report, which opens with its charts drawn (styled, in its
sandbox); a malformed set's error is shown in the reader's language; with an API key the report
is fetched with the key and saved. Screenshots go to tests/artifacts/evaluations/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from bench.chroma_server import free_port
from tests.browser import ARTIFACTS, ServiceThread, add_document, chromium_browser, running
from tests.conftest import make_settings

SHOTS = ARTIFACTS / "evaluations"
FALCON = "# Falcon\n\nThe launch code of project Falcon is 7731-ALPHA.\n"
GOLDEN = [
    {
        "question": "What is the launch code of project Falcon?",
        "answer": "7731-ALPHA",
        "file": "falcon.md",
    },
    {"question": "Who designed the Falcon rocket's engine?", "answer": None},
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    settings = make_settings(tmp_path_factory.mktemp("web-evals") / "data", port=free_port())
    with running(settings) as started:
        assert (
            add_document(started.url, "projects", "falcon.md", FALCON.encode())["state"] == "done"
        )
        yield started


def _open(chromium: Any, service: ServiceThread, locale: str, key: str = "") -> tuple[Any, Any]:
    context = chromium.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    if key:
        context.add_init_script(f"localStorage.setItem('zhiku.apiKey', {json.dumps(key)})")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(service.url)
    page.locator(".doc").first.wait_for()
    page.locator("#collection-settings").click()
    page.locator("#kb-evaluation-status").wait_for()
    return context, page


def _golden_file(tmp_path: Path, entries: list[dict[str, Any]], name: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in entries), "utf-8")
    return path


def test_the_settings_run_a_golden_set_and_link_to_its_report_with_charts_drawn(
    chromium: Any, service: ServiceThread, tmp_path: Path
) -> None:
    context, page = _open(chromium, service, "en-US")
    status, link = page.locator("#kb-evaluation-status"), page.locator("#kb-evaluation-report")
    expect(status).to_have_text("Not evaluated yet.")
    assert link.is_hidden()

    page.locator("#kb-evaluation-file").set_input_files(
        str(_golden_file(tmp_path, [{"question": "broken"}, "not an entry"], "broken.jsonl"))  # type: ignore[list-item]
    )
    expect(page.locator("#kb-evaluation-status")).to_contain_text("broken.jsonl, line 2")
    assert "failed" in status.inner_text()

    page.locator("#kb-evaluation-file").set_input_files(
        str(_golden_file(tmp_path, GOLDEN, "falcon-set.jsonl"))
    )
    link.wait_for(state="visible", timeout=120_000)
    text = status.inner_text()
    assert text.startswith("falcon-set.jsonl, ") and "top 5: 100%" in text, text
    href = link.get_attribute("href")
    assert href is not None and href.startswith("/api/collections/projects/evaluations/")
    assert href.endswith("/report.html")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#collection-settings-form").screenshot(path=str(SHOTS / "settings-en.png"))

    with context.expect_page() as opened:
        link.click()
    report = opened.value
    report.wait_for_load_state()
    assert "falcon-set.jsonl" in report.title()
    charts = report.locator("svg.chart")
    assert charts.count() >= 5
    box = charts.first.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 20
    # Its inline styles apply under the report's own policy.
    display = report.evaluate("getComputedStyle(document.querySelector('.charts')).display")
    assert display == "flex"
    report.screenshot(path=str(SHOTS / "report.png"), full_page=True)
    context.close()


def test_the_evaluation_is_shown_in_chinese(chromium: Any, service: ServiceThread) -> None:
    context, page = _open(chromium, service, "zh-CN")
    link = page.locator("#kb-evaluation-report")
    link.wait_for(state="visible", timeout=30_000)
    assert link.inner_text() == "打开最新的评测报告"
    assert "前 5 个段落命中：100%" in page.locator("#kb-evaluation-status").inner_text()
    assert page.locator("#kb-evaluation-run").inner_text() == "运行评测集…"
    page.locator("#collection-settings-form").screenshot(path=str(SHOTS / "settings-zh.png"))
    context.close()


def test_with_an_api_key_the_report_is_fetched_with_it_and_saved(
    chromium: Any, service: ServiceThread, tmp_path: Path
) -> None:
    with httpx.Client(base_url=service.url, timeout=60) as anyone:
        created = anyone.post("/api/keys", json={"name": "page", "read": ["projects"]})
        assert created.status_code == 201, created.text
    key = created.json()["secret"]
    context, page = _open(chromium, service, "en-US", key=key)
    link = page.locator("#kb-evaluation-report")
    link.wait_for(state="visible", timeout=30_000)
    with httpx.Client(base_url=service.url, timeout=60) as anonymous:
        assert anonymous.get(link.get_attribute("href") or "").status_code == 401
    with page.expect_download() as saving:
        link.click()
    saved = tmp_path / "report.html"
    saving.value.save_as(saved)
    assert saving.value.suggested_filename.startswith("zhiku-evaluation-projects-")
    html = saved.read_text("utf-8")
    assert "falcon-set.jsonl" in html and "<svg" in html
    # A reader may not start a run: the refusal is said, nothing starts.
    page.locator("#kb-evaluation-file").set_input_files(
        str(_golden_file(tmp_path, GOLDEN, "again.jsonl"))
    )
    expect(page.locator("#kb-evaluation-status")).to_contain_text("may not change")
    context.close()
