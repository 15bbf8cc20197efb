"""The page says what the server says in the reader's language: every code the server can send
has its words in English and Chinese in app/web/js/messages.js, and in a real Chromium a
refused upload, a failed document and a refused question show their reasons in Chinese on a
Chinese page, in English on an English one, and again in the other after a switch."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.chroma_server import free_port
from core.messages import TEMPLATES
from tests.browser import ServiceThread, chromium_browser, running
from tests.conftest import make_settings

MESSAGES_JS = Path(__file__).resolve().parents[1] / "app" / "web" / "js" / "messages.js"
CJK = re.compile(r"[\u4e00-\u9fff]")
# Parameters that app/errors.py and the middlewares add beside the template's own.
BOUND = {"limit"}
ADDED = {
    "rate_limited": {"retry_after"},
    "auth_rate_limited": {"retry_after"},
    "route_not_found": {"path"},
    "method_not_allowed": {"method"},
    "bad_request": {"status"},
    "http_error": {"status"},
    "field_too_short": BOUND,
    "field_too_long": BOUND,
    "number_too_small": BOUND,
    "number_too_large": BOUND,
    "retry_of_refused_file": {"reason_code", "reason_params"},
}


def page_words() -> dict[str, dict[str, str]]:
    """Each language's block of messages.js, code → words (one entry a line or two)."""
    source = MESSAGES_JS.read_text(encoding="utf-8")
    blocks = re.split(r'^  "?(en|zh-CN)"?: \{$', source, flags=re.MULTILINE)
    words: dict[str, dict[str, str]] = {}
    for language, block in zip(blocks[1::2], blocks[2::2], strict=True):
        body = block.split("\n  },", 1)[0]
        entries = re.findall(r'^    (\w+):\s*"((?:[^"\\]|\\.)*)",$', body, flags=re.MULTILINE)
        words[language] = dict(entries)
        assert len(words[language]) == len(re.findall(r"^    \w+:", body, re.MULTILINE))
    return words


def test_every_code_the_server_can_send_has_english_and_chinese_words() -> None:
    words = page_words()
    assert set(words) == {"en", "zh-CN"}
    for language, known in words.items():
        assert sorted(set(TEMPLATES) - set(known)) == [], f"{language} lacks these codes"
        assert sorted(set(known) - set(TEMPLATES)) == [], f"{language} has codes no one sends"
    for code, text in words["zh-CN"].items():
        assert CJK.search(text), f"the Chinese words of {code} are not Chinese: {text}"
    for code, text in words["en"].items():
        assert not CJK.search(text), f"the English words of {code} are not English: {text}"


def test_the_page_names_only_parameters_the_server_sends() -> None:
    for language, known in page_words().items():
        for code, text in known.items():
            sent = {name for _, name, _, _ in string.Formatter().parse(TEMPLATES[code]) if name}
            named = set(re.findall(r"\{(\w+)(?::[^}]*)?\}", text))
            unknown = named - sent - ADDED.get(code, set())
            assert not unknown, f"{language} {code} names {unknown}, which the server never sends"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    settings = make_settings(
        tmp_path_factory.mktemp("messages") / "data", port=free_port(), max_question_chars=40
    )
    with running(settings) as started:
        yield started


def _upload_refused_and_failed(
    chromium: Any, service: ServiceThread, shared_data: Path, locale: str, collection: str
) -> tuple[Any, Any, str, str]:
    """Opens the page in `locale` on a new collection and adds an empty file (refused on
    upload) and an encrypted PDF (failed by the worker); returns the context, the page and
    both reasons as shown."""
    with httpx.Client(base_url=service.url) as http:
        assert http.post("/api/collections", json={"name": collection}).status_code == 201
    context = chromium.new_context(locale=locale, viewport={"width": 1360, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(service.url)
    page.locator("#collection-select").select_option(collection)
    encrypted = (shared_data / "pdfs" / "hostile" / "encrypted.pdf").read_bytes()
    page.locator("#file-input").set_input_files(
        [
            {"name": "空白.txt", "mimeType": "text/plain", "buffer": b""},
            {"name": "locked.pdf", "mimeType": "application/pdf", "buffer": encrypted},
        ]
    )
    refused = page.locator("li.doc:has(.doc-name[title='空白.txt']) .doc-error")
    failed = page.locator(
        "li.doc[data-status='failed']:has(.doc-name[title='locked.pdf']) .doc-error"
    )
    refused.wait_for(timeout=60_000)
    failed.wait_for(timeout=120_000)
    assert errors == []
    return context, page, refused.inner_text(), failed.inner_text()


def test_a_chinese_page_shows_upload_and_document_failures_in_chinese(
    chromium: Any, service: ServiceThread, shared_data: Path
) -> None:
    context, page, refused, failed = _upload_refused_and_failed(
        chromium, service, shared_data, "zh-CN", "中文库"
    )
    try:
        assert refused == "“空白.txt”：文件是空的（0 字节）。"
        assert failed == "PDF 已加密，需要密码才能打开。请去除密码后重新上传。"

        # A chat error: the question is over ZHIKU_MAX_QUESTION_CHARS.
        box = page.locator("#question")
        box.fill("备份" * 30)
        box.press("Enter")
        chat_error = page.locator(".msg-assistant.is-error .error-text")
        chat_error.wait_for(timeout=60_000)
        assert chat_error.inner_text() == "问题有 60 个字符，上限为 40 个。"

        page.locator("#lang-button").click()
        assert page.locator("html").get_attribute("lang") == "en"
        document = page.locator("li.doc[data-status='failed'] .doc-error")
        assert document.inner_text() == (
            "The PDF is encrypted and needs a password. Remove the password and upload it again."
        )
    finally:
        context.close()


def test_an_english_page_shows_them_in_english_and_unknown_codes_in_the_servers_words(
    chromium: Any, service: ServiceThread, shared_data: Path
) -> None:
    context, page, refused, failed = _upload_refused_and_failed(
        chromium, service, shared_data, "en-US", "English KB"
    )
    try:
        assert refused == "“空白.txt”: The file is empty (0 bytes)."
        assert failed == (
            "The PDF is encrypted and needs a password. Remove the password and upload it again."
        )
        # A code this page does not know (a newer server), and a row failed before codes.
        shown = page.evaluate(
            """async () => {
                const { describe } = await import("/static/js/messages.js");
                return [
                    describe({ code: "from_the_future", params: {}, message: "As sent." }),
                    describe({ code: null, params: null, message: "An old reason." }),
                ];
            }"""
        )
        assert shown == ["As sent.", "An old reason."]
    finally:
        context.close()
