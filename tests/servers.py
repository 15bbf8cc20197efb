"""Real servers for the scale-out tests: a `chroma run` server on a free loopback port for the
session, and a Redis database of its own on the machine's Redis. Absent servers skip the
tests with a reason, except in CI (CI=true), where they fail."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unavailable(reason: str) -> None:
    """Skip, or fail in CI, where every server the tests need must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: this fails instead of skipping)")
    pytest.skip(reason)


def _chroma_cli() -> str | None:
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.exists() else shutil.which("chroma")


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Chroma server started for this test session."""
    cli = _chroma_cli()
    if cli is None:
        unavailable("the `chroma` command of the chromadb package is not installed")
        raise AssertionError("unreachable")
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (folder / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [cli, "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                tail = (folder / "server.log").read_text(errors="replace")[-2000:]
                unavailable(f"`chroma run` did not start (exit {server.poll()}): {tail}")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database (1..15) of its own, flushed before and after the test."""
    import redis

    db = random.randint(1, 15)
    client = redis.Redis(REDIS_HOST, REDIS_PORT, db=db, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        unavailable(f"no Redis at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    client.flushdb()
    try:
        yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"
    finally:
        client.flushdb()
        client.close()
