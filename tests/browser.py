"""A real service on a loopback port (uvicorn in a thread of the test process) and headless
Chromium driven by Playwright, for the web page's end-to-end tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from app.main import create_app
from core.settings import Settings
from tests.conftest import upload_and_wait

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def ensure_chromium() -> str:
    """Debian's Chromium: Playwright cannot download its own browser builds here."""
    if not Path(CHROMIUM).exists():
        apt = shutil.which("apt-get")
        if apt is None:
            pytest.fail(f"{CHROMIUM} is missing and apt-get is not available to install it")
        subprocess.run([apt, "install", "-y", "-q", "chromium"], check=False, timeout=900)
        if not Path(CHROMIUM).exists():
            subprocess.run([apt, "update", "-q"], check=True, timeout=300)
            subprocess.run([apt, "install", "-y", "-q", "chromium"], check=True, timeout=900)
    return CHROMIUM


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """Headless Chromium, closed on leaving."""
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class ServiceThread:
    """The app served by uvicorn from a thread, so a test can stop it while a page is open."""

    def __init__(self, settings: Settings) -> None:
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=settings.port,
            log_level="warning",
            ws="none",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="zhiku-service", daemon=True)
        self.url = f"http://127.0.0.1:{settings.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive():
                raise AssertionError("the service thread ended before it started serving")
            assert time.monotonic() < deadline, "the service did not start in 120 s"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        if self.thread.is_alive():
            # Where every thread waits says what held the shutdown up.
            stacks = "\n".join(
                f"--- {thread}\n{''.join(traceback.format_stack(frame))}"
                for thread, frame in sys._current_frames().items()
            )
            raise AssertionError(f"the service thread did not stop:\n{stacks}")


@contextmanager
def running(settings: Settings) -> Iterator[ServiceThread]:
    service = ServiceThread(settings)
    service.start()
    try:
        yield service
    finally:
        if service.thread.is_alive():
            service.stop()


def add_document(url: str, collection: str, filename: str, data: bytes) -> dict[str, Any]:
    """Through the public API, as another client would: returns the finished job."""
    with httpx.Client(base_url=url, timeout=60) as http:
        return upload_and_wait(http, collection, filename, data, timeout=300)
