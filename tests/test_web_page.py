"""The bundled chat page: served with a strict Content-Security-Policy, and used in headless
Chromium against a real service: upload a PDF, watch it become ready, ask, read the streamed
answer, open a citation's passage; hostile text stays text; both languages; a phone-sized
screen; the messages shown when the LLM backend or the service fails. Screenshots of the main
states go to tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from bench.chroma_server import free_port
from tests.browser import (
    ARTIFACTS,
    ServiceThread,
    add_document,
    chromium_browser,
    running,
)
from tests.conftest import make_settings

WEB = Path(__file__).resolve().parents[1] / "app" / "web"
PDF = "en-google-doc-example.pdf"
# Long enough that its pages read and chunks embedded show for a while: the 19-page GeoBase
# model became ready between two polls of the page once embedding ran in bfloat16.
LONG_PDF = "en-free-culture-lessig.pdf"
QUESTION = "According to the example Google Docs document, what is better than ugly?"
NOTES = "# 部署说明\n\n知库默认把所有数据保存在 ./data 目录中。备份时复制整个目录即可。\n"
XSS_TEXT = (
    "Falcon notes.\n\n"
    'The launch phrase of project Falcon is <img src=x onerror="window.__xss=1"> and'
    " <script>window.__xss=2</script> together.\n"
)
XSS_NAME = "<img src=x onerror=window.__xss=3>falcon.txt"


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        self.inline_handlers += [name for name, _ in attrs if name.startswith("on")]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("page") / "data")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_page_is_served_with_a_policy_that_forbids_inline_scripts(client: TestClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["object-src"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    parsed = _Scripts()
    parsed.feed(response.text)
    assert parsed.scripts and all(s.get("src") for s in parsed.scripts)
    assert parsed.inline_handlers == []


def test_scripts_and_vendored_libraries_are_served_as_javascript_with_their_licenses(
    client: TestClient,
) -> None:
    modules = sorted(p.relative_to(WEB).as_posix() for p in WEB.rglob("*.js"))
    assert "vendor/marked/marked.esm.js" in modules
    assert "vendor/dompurify/purify.es.js" in modules
    for module in modules:
        response = client.get(f"/static/{module}")
        assert response.status_code == 200, module
        assert response.headers["content-type"].startswith("text/javascript"), module
        assert "content-security-policy" in response.headers
    for library in ("marked", "dompurify"):
        assert (WEB / "vendor" / library / "LICENSE").stat().st_size > 500
    for sheet in ("app.css", "manage.css"):
        assert client.get(f"/static/{sheet}").headers["content-type"].startswith("text/css")


def test_missing_static_file_is_a_json_404(client: TestClient) -> None:
    response = client.get("/static/nope.js")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "route_not_found"


def test_api_docs_keep_working_outside_the_page_policy(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "content-security-policy" not in response.headers


# ---------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    settings = make_settings(tmp_path_factory.mktemp("web") / "data", port=free_port())
    with running(settings) as started:
        yield started


class Watched:
    """A page that records console errors and failed requests, so a test can assert that
    the page ran cleanly under its Content-Security-Policy."""

    def __init__(self, browser: Any, locale: str, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(locale=locale, viewport=viewport)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def desktop(chromium: Any) -> Iterator[Watched]:
    watched = Watched(chromium, "en-US", {"width": 1360, "height": 860})
    yield watched
    watched.close()


@pytest.fixture
def phone_zh(chromium: Any) -> Iterator[Watched]:
    watched = Watched(chromium, "zh-CN", {"width": 375, "height": 812})
    yield watched
    watched.close()


def _ask(page: Any, question: str) -> Any:
    """Types the question, sends it with Enter, and waits for the streamed reply to end."""
    box = page.locator("#question")
    box.click()
    box.fill(question)
    before = page.locator(".msg-assistant").count()
    with page.expect_response(re.compile(r"/chat$")) as streamed:
        box.press("Enter")
    response = streamed.value
    page.locator(".msg-assistant:not(.is-streaming)").nth(before).wait_for(timeout=60_000)
    return response, page.locator(".msg-assistant").nth(before)


@pytest.mark.slow
def test_upload_a_pdf_ask_and_open_the_cited_passage(
    desktop: Watched, service: ServiceThread, shared_data: Path
) -> None:
    from playwright.sync_api import expect

    page = desktop.page
    page.goto(service.url)
    assert page.locator("html").get_attribute("lang") == "en"
    page.locator("#new-collection-name").fill("Handbooks")
    page.locator("#new-collection-form button[type=submit]").click()
    expect(page.locator("#collection-select")).to_have_value("Handbooks")
    desktop.shot("desktop-en-empty-collection")

    files = [PDF, LONG_PDF]
    page.locator("#file-input").set_input_files(
        [
            *(
                {
                    "name": name,
                    "mimeType": "application/pdf",
                    "buffer": (shared_data / "pdfs" / name).read_bytes(),
                }
                for name in files
            ),
            {"name": "部署说明.md", "mimeType": "text/markdown", "buffer": NOTES.encode()},
        ]
    )
    page.locator("li.doc").first.wait_for()
    desktop.shot("desktop-en-uploading")
    # The longer PDF shows its ingestion progress (pages read, then chunks embedded).
    ingesting = page.locator(f"li.doc:has(.doc-name[title='{LONG_PDF}']) .progress-label")
    expect(ingesting).to_have_text(
        re.compile(r"Reading pages \d+/352|Embedding \d+/\d+"), timeout=120_000
    )
    desktop.shot("desktop-en-ingesting")
    for name in [*files, "部署说明.md"]:
        row = page.locator(f"li.doc[data-status=ready]:has(.doc-name[title='{name}'])")
        row.wait_for(timeout=300_000)
    ready = page.locator(f"li.doc:has(.doc-name[title='{PDF}'])")
    meta = ready.locator(".doc-meta").inner_text()
    assert "KB" in meta and "1 page" in meta and "chunk" in meta
    assert ready.locator(".badge").inner_text() == "Ready"
    assert "352 pages" in page.locator(f"li.doc:has(.doc-name[title='{LONG_PDF}'])").inner_text()
    assert page.locator("#topbar-meta").inner_text() == "3 ready"
    # Pages only for a format that has them.
    notes = page.locator("li.doc:has(.doc-name[title='部署说明.md']) .doc-meta").inner_text()
    assert "page" not in notes

    response, reply = _ask(page, QUESTION)

    assert response.headers["content-type"].startswith("text/event-stream")
    answer = reply.locator(".answer")
    assert "Beautiful is better than ugly" in answer.inner_text()
    # The [n] after the sentence: each marks the sentence it cites (the answer may open with the
    # document's title, cited too).
    citation = answer.locator(
        "xpath=.//button[contains(@class, 'cite')]"
        "[preceding-sibling::text()[1][contains(., 'better than ugly')]]"
    )
    assert citation.is_visible() and "is-unverified" not in (citation.get_attribute("class") or "")
    assert reply.locator(".source-name").first.inner_text() == PDF
    desktop.shot("desktop-en-answer")

    citation.focus()
    page.keyboard.press("Enter")
    panel = page.locator("#passage")
    assert panel.is_visible()
    assert page.locator("#passage-title").inner_text() == PDF
    assert "Page 1" in panel.locator(".passage-facts").inner_text()
    assert "Verified" in panel.locator(".passage-facts").inner_text()
    assert "Beautiful is better than ugly" in panel.locator(".passage-text mark").inner_text()
    link = panel.locator("a.passage-link")
    href = link.get_attribute("href") or ""
    assert re.fullmatch(r"/api/collections/Handbooks/documents/[0-9a-f]{64}/file#page=1", href)
    pdf = httpx.get(service.url + href.split("#")[0])
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == (shared_data / "pdfs" / PDF).read_bytes()
    desktop.shot("desktop-en-passage")
    page.emulate_media(color_scheme="dark")
    page.wait_for_timeout(300)  # the drop zone's colour transition
    desktop.shot("desktop-en-passage-dark")
    page.emulate_media(color_scheme="light")
    page.keyboard.press("Escape")
    assert not panel.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('cite')")

    requests: list[dict[str, Any]] = []
    page.on(
        "request", lambda r: requests.append(r.post_data_json) if r.url.endswith("/chat") else None
    )
    _, follow_up = _ask(page, "And what is better than complex?")
    assert requests[-1]["conversation_id"]
    assert requests[-1]["messages"] == [
        {"role": "user", "content": "And what is better than complex?"}
    ]
    assert follow_up.locator(".answer").inner_text().strip()

    box = page.locator("#question")
    box.fill("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    assert page.locator(".msg-user").count() == 2

    page.locator("#new-chat").click()
    assert page.locator(".msg").count() == 0
    assert "Ask Handbooks" in page.locator(".empty h1").inner_text()
    assert desktop.errors == []


@pytest.mark.slow
def test_an_abstention_looks_different_from_an_answer(
    desktop: Watched, service: ServiceThread
) -> None:
    page = desktop.page
    page.goto(service.url)
    page.locator("li.doc[data-status=ready]").first.wait_for()

    _, reply = _ask(page, "What is the boiling point of mercury on Mars?")

    assert "is-abstained" in (reply.get_attribute("class") or "")
    assert "Not in your documents" in reply.locator(".notice").inner_text()
    assert reply.locator("button.cite").count() == 0
    desktop.shot("desktop-en-abstained")
    assert desktop.errors == []


@pytest.mark.slow
def test_document_text_and_answers_with_markup_render_as_inert_text(
    desktop: Watched, service: ServiceThread
) -> None:
    job = add_document(service.url, "Hostile", XSS_NAME, XSS_TEXT.encode())
    assert job["state"] == "done", job
    page = desktop.page
    page.goto(service.url)
    page.locator("#collection-select").select_option("Hostile")
    row = page.locator("li.doc[data-status=ready]")
    row.wait_for()
    assert row.locator(".doc-name").inner_text() == XSS_NAME

    _, reply = _ask(page, "What is the launch phrase of project Falcon?")

    shown = reply.locator(".answer").inner_text()
    assert '<img src=x onerror="window.__xss=1">' in shown
    assert "<script>window.__xss=2</script>" in shown
    reply.locator("button.cite").first.click()
    assert "<script>" in page.locator(".passage-text").inner_text()
    assert page.locator("#passage-title").inner_text() == XSS_NAME
    desktop.shot("desktop-en-xss-inert")
    assert page.evaluate("window.__xss") is None
    assert page.locator("img").count() == 0
    assert page.locator("main script, aside script, #sidebar script").count() == 0
    assert (
        page.evaluate(
            "[...document.querySelectorAll('*')].some(e => [...e.attributes]"
            ".some(a => a.name.startsWith('on')))"
        )
        is False
    )
    assert desktop.errors == []


@pytest.mark.slow
def test_phone_in_chinese_follows_the_browser_and_the_switch_persists(
    phone_zh: Watched, service: ServiceThread
) -> None:
    page = phone_zh.page
    page.goto(service.url)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#question").get_attribute("placeholder") == "就文档内容提个问题…"
    sidebar = page.locator("#sidebar")
    assert not sidebar.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    phone_zh.shot("phone-zh-chat")

    page.locator("#menu-button").click()
    sidebar.wait_for(state="visible")
    page.locator("#collection-select").select_option("Handbooks")
    if not sidebar.is_visible():
        # Choosing another knowledge base closes the drawer, to show its chat.
        page.locator("#menu-button").click()
        sidebar.wait_for(state="visible")
    page.locator("li.doc[data-status=ready]").first.wait_for()
    assert page.locator("li.doc .badge").first.inner_text() == "就绪"
    phone_zh.shot("phone-zh-drawer")
    page.keyboard.press("Escape")
    sidebar.wait_for(state="hidden")

    _, reply = _ask(page, "知库的数据保存在哪个目录？")
    assert "./data" in reply.locator(".answer").inner_text()
    assert reply.locator(".source-name").first.inner_text() == "部署说明.md"
    phone_zh.shot("phone-zh-answer")
    reply.locator("button.cite").first.click()
    page.locator("#passage").wait_for(state="visible")
    assert "已验证" in page.locator(".passage-facts").inner_text()
    assert "./data" in page.locator(".passage-text mark").inner_text()
    phone_zh.shot("phone-zh-passage")
    page.locator("#passage-close").click()

    page.locator("#menu-button").click()
    page.locator("#lang-button").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("li.doc .badge").first.inner_text() == "Ready"
    page.reload()
    assert page.locator("html").get_attribute("lang") == "en"
    # Short enough for a phone's question box.
    assert page.locator("#question").get_attribute("placeholder") == "Ask about your documents…"
    phone_zh.shot("phone-en-after-switch")
    assert phone_zh.errors == []


@pytest.mark.slow
def test_stop_then_llm_failure_then_service_down_each_show_a_clear_message(
    desktop: Watched, tmp_path: Path
) -> None:
    from tests.llm_server import Answer, FakeOpenAI

    markdown = Answer(
        deltas=(
            "**Nightly**, to the archive in Hangzhou [1]. Zebras paint clouds purple [2].",
            '\n\n- kept <img src=x onerror="window.__xss=4"> for `30` days',
        )
    )
    slow = Answer(deltas=[f"word{i} " for i in range(400)], delay=0.05)
    upstream = FakeOpenAI(script=[markdown], then=slow).__enter__()
    upstream_open = True
    settings = make_settings(
        tmp_path / "data",
        port=free_port(),
        llm_backend="openai",
        llm_base_url=upstream.base_url,
        llm_model="fake-model",
        llm_max_retries=0,
    )
    service = ServiceThread(settings)
    service.start()
    try:
        text = b"Backups are copied nightly to the archive in Hangzhou."
        assert add_document(service.url, "ops", "backups.txt", text)["state"] == "done"
        other = b"Restores are tested every quarter by the operations team."
        assert add_document(service.url, "ops", "restores.txt", other)["state"] == "done"
        page = desktop.page
        page.goto(service.url)
        page.locator("li.doc[data-status=ready]").first.wait_for()

        _, written = _ask(page, "When are backups copied?")
        answer = written.locator(".answer")
        assert answer.locator("strong").inner_text() == "Nightly"
        assert answer.locator("li code").inner_text() == "30"
        assert '<img src=x onerror="window.__xss=4">' in answer.inner_text()
        assert answer.locator("img").count() == 0 and page.evaluate("window.__xss") is None
        assert written.locator("button.cite").count() == 2
        # The second sentence is not supported by the passage it cites.
        unverified = written.locator("button.cite.is-unverified")
        assert unverified.count() == 1 and unverified.inner_text() == "2"
        assert written.locator(".source.is-unverified .badge").inner_text() == "Unverified"
        desktop.shot("desktop-en-model-markdown")
        # A new conversation, so the next question goes straight to generation (a follow-up
        # would first ask the LLM to condense it).
        page.locator("#new-chat").click()

        box = page.locator("#question")
        box.fill("Where are backups copied to?")
        box.press("Enter")
        reply = page.locator(".msg-assistant").last
        reply.locator(".answer").get_by_text("word3").wait_for()
        assert page.locator("#stop").is_visible()
        page.locator("#stop").click()
        reply.locator(".stopped-note").wait_for()
        assert upstream.wait_for_disconnect(10), "the upstream never saw the page stop"
        assert page.locator("#send").is_visible()

        upstream.__exit__(None, None, None)
        upstream_open = False
        _, failed = _ask(page, "Where are backups copied to?")
        assert "is-error" in (failed.get_attribute("class") or "")
        notice = failed.locator(".notice").inner_text()
        assert "The language model backend failed" in notice and "upstream_unreachable" in notice
        desktop.shot("desktop-en-llm-failed")

        service.stop()
        box.fill("Is anyone there?")
        box.press("Enter")
        down = page.locator(".msg-assistant").last
        down.locator(".notice").wait_for()
        assert "Can’t reach the Zhiku service" in down.locator(".notice").inner_text()
        assert "Can’t reach the Zhiku service" in page.locator("#banner").inner_text()
        desktop.shot("desktop-en-service-down")
    finally:
        if service.thread.is_alive():
            service.stop()
        if upstream_open:
            upstream.__exit__(None, None, None)


@pytest.mark.slow
def test_a_service_with_keys_asks_for_one_and_sends_it_on_every_call(
    desktop: Watched, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data", port=free_port(), api_keys="k-secret")
    with running(settings) as keyed:
        auth = {"Authorization": "Bearer k-secret"}
        httpx.post(f"{keyed.url}/api/collections", json={"name": "private"}, headers=auth)
        page = desktop.page
        page.goto(keyed.url)
        dialog = page.locator("#key-dialog")
        dialog.wait_for(state="visible")
        desktop.shot("desktop-en-key-dialog")
        page.locator("#key-input").fill("wrong")
        page.locator("#key-dialog button[value=save]").click()
        page.locator("#key-wrong").wait_for(state="visible")
        page.locator("#key-input").fill("k-secret")
        page.locator("#key-dialog button[value=save]").click()

        page.locator("#collection-select option[value=private]").wait_for(state="attached")
        assert page.evaluate("localStorage.getItem('zhiku.apiKey')") == "k-secret"
        page.locator("#file-input").set_input_files(
            [{"name": "a.txt", "mimeType": "text/plain", "buffer": b"Backups run nightly."}]
        )
        page.locator("li.doc[data-status=ready]").wait_for(timeout=120_000)
        _, reply = _ask(page, "When do backups run?")
        assert "nightly" in reply.locator(".answer").inner_text()
        # A plain link cannot send the key: the file opens from what was fetched with it.
        with page.expect_popup() as opened:
            page.locator("li.doc .doc-name").click()
        opened.value.wait_for_url(re.compile("^blob:"), wait_until="commit")
        assert "Backups run nightly." in opened.value.locator("body").inner_text()
    # Refused calls log "401" to the console before the key is given; nothing else may fail.
    assert [e for e in desktop.errors if "401" not in e] == []


@pytest.mark.slow
def test_a_read_only_key_sees_its_collection_is_told_it_may_not_upload_and_can_be_forgotten(
    chromium: Any, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data", port=free_port(), api_keys="k-admin")
    with (
        running(settings) as keyed,
        httpx.Client(base_url=keyed.url, headers={"Authorization": "Bearer k-admin"}) as admin,
    ):
        for name in ("公开手册", "secret-plans"):
            admin.post("/api/collections", json={"name": name})
        made = admin.post("/api/keys", json={"name": "reader", "read": ["公开手册"]})
        reader_key = made.json()["secret"]
        watched = Watched(chromium, "zh-CN", {"width": 1360, "height": 860})
        page = watched.page
        try:
            page.goto(keyed.url)
            page.locator("#key-dialog").wait_for(state="visible")
            assert page.locator("#key-forget").is_hidden()
            page.locator("#key-input").fill(reader_key)
            page.locator("#key-dialog button[value=save]").click()
            page.locator("#collection-select option[value='公开手册']").wait_for(state="attached")
            options = page.locator("#collection-select option").all_inner_texts()
            assert not any("secret-plans" in o for o in options)

            page.locator("#file-input").set_input_files(
                [{"name": "a.txt", "mimeType": "text/plain", "buffer": "备份每晚进行。".encode()}]
            )
            refused = page.locator("li.doc .doc-error")
            refused.wait_for()
            assert "无权" in refused.inner_text()
            watched.shot("desktop-zh-read-only-key")

            page.locator("#key-button").click()
            page.locator("#key-forget").click()
            # Started over without a key, the page asks for one again.
            page.locator("#key-dialog").wait_for(state="visible")
            assert page.evaluate("localStorage.getItem('zhiku.apiKey')") is None
            assert page.locator("#key-forget").is_hidden()
        finally:
            watched.close()
            admin.close()
    # Refused calls log 401 and 403 to the console; nothing else may fail.
    assert [e for e in watched.errors if "401" not in e and "403" not in e] == []
