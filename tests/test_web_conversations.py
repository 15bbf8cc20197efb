"""The page's conversations and knowledge-base management in headless Chromium against a real
service: the list of chats (renamed, deleted) and the open one restored by a reload or a new
tab, a chat limited to chosen documents, the last answer written again, a failed file retried,
a knowledge base's settings, rename and delete, and the page's keyboard and layout fixes.
Screenshots at desktop and phone width in both languages go to tests/artifacts/conversations/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bench.chroma_server import free_port
from tests.browser import (
    ARTIFACTS,
    ServiceThread,
    add_document,
    chromium_browser,
    running,
)
from tests.conftest import make_settings

SHOTS = ARTIFACTS / "conversations"
FALCON = "# Falcon\n\nThe launch code of project Falcon is 7731-ALPHA.\n"
HERON = "# Heron\n\nThe launch code of project Heron is 5520-DELTA.\n"
BROKEN = b"%PDF-1.4\n this is not really a PDF\n%%EOF\n"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    settings = make_settings(tmp_path_factory.mktemp("web-chats") / "data", port=free_port())
    with running(settings) as started:
        for name, data in (("falcon.md", FALCON.encode()), ("heron.md", HERON.encode())):
            assert add_document(started.url, "projects", name, data)["state"] == "done"
        assert add_document(started.url, "projects", "broken.pdf", BROKEN)["state"] == "failed"
        yield started


@pytest.fixture
def page(chromium: Any, service: ServiceThread) -> Iterator[Any]:
    context = chromium.new_context(locale="en-US", viewport=DESKTOP)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda e: errors.append(str(e)))
    opened.goto(service.url)
    opened.locator(".doc").first.wait_for()
    yield opened
    context.close()
    assert errors == []


def api(service: ServiceThread) -> httpx.Client:
    return httpx.Client(base_url=service.url, timeout=60)


def ask(page: Any, question: str) -> Any:
    box = page.locator("#question")
    box.fill(question)
    before = page.locator(".msg-assistant").count()
    box.press("Enter")
    reply = page.locator(".msg-assistant").nth(before)
    page.locator(".msg-assistant:not(.is-streaming)").nth(before).wait_for(timeout=60_000)
    return reply


def conversation_in_address(page: Any) -> str:
    match = re.search(r"#/projects/([0-9a-f]+)$", page.url)
    assert match, page.url
    return match.group(1)


def test_chats_are_listed_restored_on_reload_and_in_a_new_tab_renamed_and_deleted(
    page: Any, service: ServiceThread
) -> None:
    from playwright.sync_api import expect

    ask(page, "What is the launch code of project Falcon?")
    ask(page, "And of project Heron?")
    conversation = conversation_in_address(page)
    current = page.locator(f'.chat[data-conversation="{conversation}"]')
    expect(current).to_have_class(re.compile("is-current"))
    expect(current.locator(".chat-title")).to_have_text(
        "What is the launch code of project Falcon?"
    )
    expect(page.locator(".chat").first).to_have_attribute("data-conversation", conversation)

    page.reload()
    expect(page.locator(".msg-user")).to_have_count(2)
    expect(page.locator(".msg-assistant").last).to_contain_text("5520-DELTA")
    expect(page.locator(".msg-assistant").first.locator(".source")).not_to_have_count(0)

    other = page.context.new_page()
    other.goto(service.url)
    expect(other.locator(".msg-user")).to_have_count(2)
    assert conversation_in_address(other) == conversation
    other.close()

    current.locator(".chat-action").first.click()
    title = page.locator(".chat-rename input")
    expect(title).to_be_focused()
    title.fill("Launch codes")
    title.press("Enter")
    expect(current.locator(".chat-title")).to_have_text("Launch codes")
    with api(service) as http:
        stored = http.get(f"/api/collections/projects/conversations/{conversation}").json()
        assert stored["title"] == "Launch codes"

    page.once("dialog", lambda dialog: dialog.accept())
    current.locator(".chat-delete").click()
    expect(current).to_have_count(0)
    expect(page.locator(".msg")).to_have_count(0)
    assert "#/projects" in page.url and conversation not in page.url
    with api(service) as http:
        gone = http.get(f"/api/collections/projects/conversations/{conversation}")
        assert gone.status_code == 404


def test_a_chat_limited_to_one_document_keeps_its_filter_after_a_reload(
    page: Any, service: ServiceThread
) -> None:
    from playwright.sync_api import expect

    with api(service) as http:
        ids = {
            d["filename"]: d["id"] for d in http.get("/api/collections/projects/documents").json()
        }
    page.locator("#filter-button").click()
    expect(page.locator("#filter-list input")).to_have_count(2)
    page.locator(f'#filter-list input[value="{ids["heron.md"]}"]').check()
    expect(page.locator("#filter-label")).to_have_text("1 of 2 documents")
    page.keyboard.press("Escape")

    reply = ask(page, "What is the launch code?")
    expect(reply.locator(".source-name")).to_have_text(["heron.md"])
    conversation = conversation_in_address(page)
    with api(service) as http:
        stored = http.get(f"/api/collections/projects/conversations/{conversation}").json()
        assert stored["document_ids"] == [ids["heron.md"]]

    page.reload()
    expect(page.locator("#filter-label")).to_have_text("1 of 2 documents")
    follow = ask(page, "Tell me the launch code of Falcon")
    assert "falcon.md" not in follow.locator(".source-name").all_inner_texts()

    page.locator("#filter-button").click()
    page.locator("#filter-all").check()
    expect(page.locator("#filter-label")).to_have_text("All documents")
    with api(service) as http:
        stored = http.get(f"/api/collections/projects/conversations/{conversation}").json()
        assert stored["document_ids"] is None


def test_the_last_answer_is_written_again_in_its_place(page: Any, service: ServiceThread) -> None:
    from playwright.sync_api import expect

    ask(page, "What is the launch code of project Falcon?")
    ask(page, "And of project Heron?")
    conversation = conversation_in_address(page)
    first = page.locator(".msg-assistant").first
    expect(first.locator(".regenerate")).to_be_hidden()
    # A try that never reaches the service leaves the stored answer, and may be tried again.
    page.route(re.compile(r"/regenerate$"), lambda route: route.abort())
    page.locator(".msg-assistant").last.locator(".regenerate").click()
    expect(page.locator(".msg-assistant").last).to_have_class(re.compile("is-error"))
    page.unroute(re.compile(r"/regenerate$"))
    last = page.locator(".msg-assistant").last
    with page.expect_response(re.compile(r"/regenerate$")) as regenerated:
        last.locator(".regenerate").click()
    assert regenerated.value.status == 200
    page.locator(".msg-assistant:not(.is-streaming)").nth(1).wait_for()
    expect(page.locator(".msg-assistant")).to_have_count(2)
    expect(page.locator(".msg-assistant").last).to_contain_text("5520-DELTA")
    with api(service) as http:
        stored = http.get(f"/api/collections/projects/conversations/{conversation}").json()
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"] * 2


def test_a_failed_file_is_counted_as_failed_and_retried_from_the_page(
    page: Any, service: ServiceThread
) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#topbar-meta")).to_have_text("2 ready · 1 failed")
    failed = page.locator('.doc[data-status="failed"]')
    expect(failed.locator(".doc-error")).not_to_be_empty()
    with api(service) as http:
        document = failed.get_attribute("data-document")
        before = http.get(f"/api/collections/projects/documents/{document}").json()
        with page.expect_response(re.compile(r"/retry$")) as retried:
            failed.locator(".doc-retry").click()
        assert retried.value.status == 202
        job = retried.value.json()
        assert job["state"] == "queued" and job["document_id"] == document
        for _ in range(600):
            if http.get(f"/api/jobs/{job['id']}").json()["state"] == "failed":
                break
            page.wait_for_timeout(100)
        else:
            raise AssertionError("the retried job did not end")
        expect(failed.locator(".doc-retry")).to_be_visible()
        expect(page.locator("#topbar-meta")).to_have_text("2 ready · 1 failed")
    assert before["status"] == "failed"
    # The delete button sits beside the reason, not over it.
    reason = failed.locator(".doc-error").bounding_box()
    trash = failed.locator(".doc-delete").bounding_box()
    assert trash["x"] >= reason["x"] + reason["width"] - 1


def test_a_knowledge_base_is_set_renamed_and_deleted_from_the_page(
    page: Any, service: ServiceThread
) -> None:
    from playwright.sync_api import expect

    assert add_document(service.url, "scratch", "falcon.md", FALCON.encode())["state"] == "done"
    with api(service) as http:
        # As `zhiku eval --calibrate` stores it: the page's form must keep it.
        fitted = {"settings": {"abstain_threshold": 0.2}}
        assert http.patch("/api/collections/scratch", json=fitted).status_code == 200
    page.reload()
    page.locator("#collection-select").select_option("scratch")
    page.locator("#collection-settings").click()
    expect(page.locator("#kb-backend")).to_have_text("extractive")
    expect(page.locator("#kb-thresholds")).to_contain_text("English")
    page.locator("#kb-name").fill("草稿")
    page.locator("#kb-top-k").fill("3")
    page.locator("#collection-settings-form button[type=submit]").click()
    expect(page.locator("#collection-select")).to_have_value("草稿")
    expect(page.locator("#topbar-title")).to_have_text("草稿")
    with api(service) as http:
        shown = http.get("/api/collections/草稿/settings").json()
        assert shown["top_k"] == 3 and shown["abstain_threshold"] == 0.2
        assert http.get("/api/collections/scratch").status_code == 404
    reply = ask(page, "What is the launch code of project Falcon?")
    expect(reply).to_contain_text("7731-ALPHA")

    page.locator("#collection-settings").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#delete-collection").click()
    expect(page.locator("#collection-select option")).to_have_count(1)
    expect(page.locator("#collection-select")).to_have_value("projects")
    with api(service) as http:
        assert http.get("/api/collections/草稿").status_code == 404


def test_keyboard_and_layout_fixes(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#question")).to_be_focused()
    markdown = page.locator('.doc:has(.doc-name:text("falcon.md")) .doc-meta')
    expect(markdown).not_to_contain_text("page")
    # A question whose answer never came stays in the box, to send again.
    page.route(re.compile(r"/chat$"), lambda route: route.abort())
    box = page.locator("#question")
    box.fill("Will this reach the service?")
    box.press("Enter")
    expect(page.locator(".msg-assistant.is-error")).to_have_count(1)
    expect(box).to_have_value("Will this reach the service?")


def test_skip_link_is_the_first_stop_and_moves_to_the_question(page: Any) -> None:
    from playwright.sync_api import expect

    first = page.evaluate(
        "document.querySelector('a[href], button, input, select, textarea').className"
    )
    assert first == "skip-link"
    skip = page.locator(".skip-link")
    expect(skip).not_to_be_in_viewport()
    skip.focus()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("#question")).to_be_focused()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screenshots(chromium: Any, service: ServiceThread, locale: str, size: str) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    viewport = DESKTOP if size == "desktop" else PHONE
    context = chromium.new_context(locale=locale, viewport=viewport)
    page = context.new_page()
    page.goto(service.url)
    page.locator(".doc").first.wait_for(state="attached")
    name = f"{size}-{locale[:2]}"
    page.screenshot(path=str(SHOTS / f"{name}-empty.png"))
    # The placeholder fits the box at phone width: none of it is cut off.
    box = page.locator("#question")
    fits = box.evaluate(
        "el => { const c = document.createElement('canvas').getContext('2d');"
        " c.font = getComputedStyle(el).font;"
        " const pad = parseFloat(getComputedStyle(el).paddingLeft)"
        " + parseFloat(getComputedStyle(el).paddingRight);"
        " return c.measureText(el.placeholder).width <= el.clientWidth - pad; }"
    )
    assert fits, box.get_attribute("placeholder")
    ask(
        page,
        "What is the launch code of project Falcon?"
        if locale == "en-US"
        else "鹰计划的发射代码是什么？",
    )
    page.screenshot(path=str(SHOTS / f"{name}-answer.png"))
    if size == "phone":
        page.locator("#menu-button").click()
    expect(page.locator("#sidebar")).to_be_visible()
    page.locator("#collection-settings").click()
    expect(page.locator("#collection-settings-form")).to_be_visible()
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}-sidebar.png"))
    page.locator("#cancel-collection-settings").click()
    if size == "phone":
        page.locator("#drawer-close").click()
    page.locator("#filter-button").click()
    page.screenshot(path=str(SHOTS / f"{name}-filter.png"))
    context.close()


def test_an_address_naming_a_deleted_chat_says_so_and_starts_a_new_one(
    page: Any, service: ServiceThread
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{service.url}/#/projects/0123456789abcdef")
    expect(page.locator("#banner-text")).to_have_text(
        "That chat no longer exists; a new one starts here."
    )
    expect(page.locator(".msg")).to_have_count(0)
    expect(page.locator("#question")).to_be_enabled()
    assert page.url.endswith("#/projects")
