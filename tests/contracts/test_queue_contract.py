"""What every WakeQueue must do, run on each implementation in WAKE_QUEUES: wake-ups reach
listeners from any thread, never raise, and stop at `close`; a server-backed queue also carries
them between queue objects on one URL, as between processes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.chroma_server import free_port
from core.queue import WAKE_QUEUES, open_queue
from core.queue.protocol import WakeQueue
from tests.conftest import make_settings

# Server-backed queues by registry key, with the fixture that gives each a URL of its own.
# "rediss" is the redis class over TLS: the coverage test counts it as run through "redis".
SERVERS = {"redis": "redis_url"}
QUEUES = ["inprocess", *SERVERS]

OpenQueue = Callable[[], WakeQueue]


def _queues_on(url: str | None, tmp_path: Path, key: str) -> Iterator[OpenQueue]:
    """Open queue objects on one URL, picked from the settings as the service picks them; all
    closed afterwards (a second close of those a test closed itself is part of the contract)."""
    settings = make_settings(tmp_path, queue_url=url)
    assert WAKE_QUEUES.key(settings) == key
    opened: list[WakeQueue] = []

    def open_one() -> WakeQueue:
        opened.append(open_queue(settings))
        assert type(opened[-1]) is WAKE_QUEUES.load(key)
        return opened[-1]

    yield open_one
    for queue in opened:
        queue.close()


@pytest.fixture(params=QUEUES)
def queues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenQueue]:
    key: str = request.param
    url = request.getfixturevalue(SERVERS[key]) if key in SERVERS else None
    yield from _queues_on(url, tmp_path, key)


@pytest.fixture(params=list(SERVERS))
def server_queues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenQueue]:
    key: str = request.param
    yield from _queues_on(request.getfixturevalue(SERVERS[key]), tmp_path, key)


@pytest.fixture(params=list(SERVERS))
def unreachable_queues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenQueue]:
    key: str = request.param
    yield from _queues_on(f"{key}://127.0.0.1:{free_port()}/0", tmp_path, key)


def listening(queue: WakeQueue) -> threading.Event:
    woken = threading.Event()
    queue.listen(woken.set)
    return woken


def test_every_registered_queue_runs_this_contract() -> None:
    run = {WAKE_QUEUES.load(key) for key in QUEUES}
    registered = WAKE_QUEUES.keys()
    skipped = [key for key in registered if WAKE_QUEUES.load(key) not in run]
    assert not skipped, f"queues whose implementation this contract never runs: {skipped}"


def test_notify_wakes_every_listener(queues: OpenQueue) -> None:
    queue = queues()
    first, second = listening(queue), listening(queue)
    queue.notify()
    assert first.wait(10) and second.wait(10)


def test_each_notify_wakes_the_listener_again(queues: OpenQueue) -> None:
    queue = queues()
    woken = listening(queue)
    for _ in range(3):
        queue.notify()
        assert woken.wait(10)
        woken.clear()


def test_notify_from_other_threads_wakes_the_listener(queues: OpenQueue) -> None:
    queue = queues()
    woken = listening(queue)
    failures: list[BaseException] = []

    def notify() -> None:
        try:
            queue.notify()
        except BaseException as exc:
            failures.append(exc)

    senders = [threading.Thread(target=notify) for _ in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert not failures
    assert woken.wait(10)


def test_close_is_idempotent(queues: OpenQueue) -> None:
    idle, used = queues(), queues()
    listening(used)
    for queue in (idle, used):
        queue.close()
        queue.close()


def test_close_stops_delivery_and_a_later_notify_does_not_raise(queues: OpenQueue) -> None:
    queue, sender = queues(), queues()
    woken = listening(queue)
    queue.notify()
    assert woken.wait(10)
    woken.clear()
    queue.close()
    queue.notify()
    sender.notify()
    assert not woken.wait(1)


def test_a_notify_reaches_listeners_of_other_queue_objects_on_the_same_url(
    server_queues: OpenQueue,
) -> None:
    workers = [server_queues() for _ in range(3)]
    woken = [listening(worker) for worker in workers]
    server_queues().notify()
    for event in woken:
        assert event.wait(10)


def test_an_unreachable_server_is_logged_and_never_raises(
    unreachable_queues: OpenQueue, caplog: pytest.LogCaptureFixture
) -> None:
    queue = unreachable_queues()
    woken = listening(queue)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        queue.notify()
    # Its own failure, logged in the caller's thread as a warning: no job is lost.
    logged = [r.levelno for r in caplog.records if r.thread == threading.get_ident()]
    assert logged == [logging.WARNING]
    assert not woken.is_set()
    started = time.monotonic()
    queue.close()
    assert time.monotonic() - started < 15
