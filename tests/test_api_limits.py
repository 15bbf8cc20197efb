"""Rates and failed keys, over real HTTP against the service on a loopback port: requests per
key or per client address (ZHIKU_RATE_LIMIT) and wrong keys per address
(ZHIKU_AUTH_FAILURE_LIMIT) answered 429 with Retry-After, with counts shared through Redis
by two services. Each client comes from an address of its own in 127.0.0.0/8, so each test
starts from a count of zero on one service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.rate_limits import storage_uri
from cli.service_client import service_client
from core.settings import Settings
from tests.browser import ServiceThread, running
from tests.conftest import make_settings
from tests.servers import REDIS_HOST, REDIS_PORT, unavailable

KEYS = ("key-a", "key-b")
RATE = 5
AUTH_FAILURES = 3
# The Redis database these tests may flush.
REDIS_DB = 5


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    settings = make_settings(
        tmp_path_factory.mktemp("limited") / "data",
        port=18211,
        api_keys=",".join(KEYS),
        allow_anonymous=True,
        rate_limit=f"{RATE}/minute",
        auth_failure_limit=f"{AUTH_FAILURES}/minute",
    )
    with running(settings) as started:
        yield started


def client(url: str, address: str, key: str | None = None) -> httpx.Client:
    """A client whose connections leave from `address`, as another machine's would."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=url, headers=headers, transport=transport, timeout=30)


def assert_rate_limited(response: httpx.Response, code: str = "rate_limited") -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert error["params"] == {"retry_after": int(response.headers["retry-after"])}


def test_requests_over_the_rate_get_429_with_retry_after(service: ServiceThread) -> None:
    with client(service.url, "127.0.0.2") as http:
        statuses = [http.get("/api/collections").status_code for _ in range(RATE)]
        assert statuses == [200] * RATE
        assert_rate_limited(http.get("/api/collections"))
        assert_rate_limited(http.post("/v1/chat/completions", json={}))
        # Probes and the page are never refused.
        assert http.get("/healthz").status_code == 200
        assert http.get("/").status_code == 200


def test_each_key_has_its_own_count(service: ServiceThread) -> None:
    with client(service.url, "127.0.0.3", "key-a") as a, client(service.url, "127.0.0.3") as bare:
        assert [a.get("/v1/models").status_code for _ in range(RATE)] == [200] * RATE
        assert_rate_limited(a.get("/v1/models"))
        # The same address, with another key or none, is counted apart.
        with client(service.url, "127.0.0.3", "key-b") as b:
            assert b.get("/v1/models").status_code == 200
        assert bare.get("/v1/models").status_code == 200


def test_without_a_key_each_address_has_its_own_count(service: ServiceThread) -> None:
    with client(service.url, "127.0.0.4") as first:
        assert [first.get("/api/collections").status_code for _ in range(RATE)] == [200] * RATE
        assert_rate_limited(first.get("/api/collections"))
    with client(service.url, "127.0.0.5") as second:
        assert second.get("/api/collections").status_code == 200


def test_wrong_keys_block_the_address_before_its_key_is_checked(service: ServiceThread) -> None:
    for n in range(AUTH_FAILURES):
        with client(service.url, "127.0.0.6", f"guess-{n}") as guess:
            assert guess.get("/api/collections").status_code == 401
    with client(service.url, "127.0.0.6", "guess-next") as guess:
        assert_rate_limited(guess.get("/api/collections"), "auth_rate_limited")
    # Refused before authentication: a right key from that address waits too.
    with client(service.url, "127.0.0.6", "key-b") as right:
        refused = right.get("/api/collections")
        assert_rate_limited(refused, "auth_rate_limited")
        assert "wrong API key" in refused.json()["error"]["message"]
    with client(service.url, "127.0.0.7", "guess-elsewhere") as elsewhere:
        assert elsewhere.get("/api/collections").status_code == 401


@pytest.fixture
def redis_limits() -> Iterator[str]:
    """The storage URI of a Redis database of these tests' own, flushed before and after."""
    import redis

    connection = redis.Redis(REDIS_HOST, REDIS_PORT, db=REDIS_DB, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as exc:
        connection.close()
        unavailable(f"no Redis at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    connection.flushdb()
    try:
        yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    finally:
        connection.flushdb()
        connection.close()


def test_two_services_share_one_count_through_redis(tmp_path: Path, redis_limits: str) -> None:
    def settings(name: str, port: int) -> Settings:
        return make_settings(
            tmp_path / name, port=port, rate_limit="4/minute", rate_limit_storage=redis_limits
        )

    with (
        running(settings("one", 18212)) as one,
        running(settings("two", 18213)) as two,
        client(one.url, "127.0.0.8") as to_one,
        client(two.url, "127.0.0.8") as to_two,
    ):
        assert to_one.get("/api/collections").status_code == 200
        assert to_two.get("/api/collections").status_code == 200
        assert to_one.get("/api/collections").status_code == 200
        assert to_two.get("/api/collections").status_code == 200
        # Four in all: each service alone has seen two.
        assert_rate_limited(to_one.get("/api/collections"))
        assert_rate_limited(to_two.get("/api/collections"))


def test_counts_go_to_the_queue_redis_unless_a_storage_is_named(tmp_path: Path) -> None:
    queue = "redis://queue.internal:6379/2"
    assert storage_uri(make_settings(tmp_path)) == "async+memory://"
    assert storage_uri(make_settings(tmp_path, queue_url=queue)) == f"async+{queue}"
    named = make_settings(tmp_path, queue_url=queue, rate_limit_storage="memory://")
    assert storage_uri(named) == "async+memory://"


@pytest.mark.parametrize("notation", ["120/minute", "30/second;1200/minute", "", "0"])
def test_limit_settings_take_the_limits_notation_or_off(tmp_path: Path, notation: str) -> None:
    assert make_settings(tmp_path, rate_limit=notation).rate_limit == notation


def test_a_malformed_limit_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a rate limit"):
        make_settings(tmp_path, auth_failure_limit="twenty a minute")


def test_the_commands_wait_out_the_rate_limit(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", port=18214, rate_limit="2/second")
    texts = [f"第{n}份笔记：备份保留{n}天。Note {n}.".encode() for n in range(5)]
    with running(settings) as service, service_client(service.url, None) as http:
        assert http.post("/api/collections", json={"name": "kb"}).status_code == 201
        started = time.monotonic()
        for n, text in enumerate(texts):
            with (tmp_path / f"note{n}.txt").open("wb+") as source:
                source.write(text)
                source.seek(0)
                response = http.post(
                    "/api/collections/kb/documents", files=[("files", (source.name, source))]
                )
            assert response.status_code == 202, response.text
        # Seven requests at two a second: some waited, none failed, every file whole.
        assert time.monotonic() - started >= 1
        sizes = sorted(d["size"] for d in http.get("/api/collections/kb/documents").json())
        assert sizes == sorted(len(t) for t in texts)


def test_without_its_redis_the_service_serves_uncounted(tmp_path: Path) -> None:
    # Nothing listens on this port of the tests' own range.
    settings = make_settings(
        tmp_path / "data",
        port=18215,
        rate_limit="1/minute",
        rate_limit_storage="redis://127.0.0.1:18299/0",
    )
    with running(settings) as service, client(service.url, "127.0.0.9") as http:
        assert [http.get("/api/collections").status_code for _ in range(3)] == [200] * 3


def test_requests_without_a_key_are_no_guesses(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "data", port=18216, api_keys="only-key", auth_failure_limit="2/minute"
    )
    with running(settings) as service:
        with client(service.url, "127.0.0.10") as bare:
            assert [bare.get("/v1/models").status_code for _ in range(4)] == [401] * 4
        for n in range(2):
            with client(service.url, "127.0.0.10", f"guess-{n}") as guess:
                assert guess.get("/v1/models").status_code == 401
        with client(service.url, "127.0.0.10", "only-key") as right:
            assert_rate_limited(right.get("/v1/models"), "auth_rate_limited")
