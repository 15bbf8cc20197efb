"""Real servers for the scale-out tests: a `chroma run` server on a free loopback port for the
session, and a Redis database of its own on the machine's Redis. Absent servers skip the
tests with a reason, except in CI (CI=true), where they fail."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import pytest

from bench.chroma_server import ChromaDidNotStart, running_chroma

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def unavailable(reason: str) -> None:
    """Skip, or fail in CI, where every server the tests need must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: this fails instead of skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Chroma server started for this test session."""
    folder = tmp_path_factory.mktemp("chroma-server")
    with contextlib.ExitStack() as stack:
        try:
            url, _ = stack.enter_context(running_chroma(folder / "db", folder / "server.log"))
        except ChromaDidNotStart as exc:
            unavailable(str(exc))
            raise AssertionError("unreachable") from exc
        yield url


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
