"""Wake-up queues beyond their contract (tests/contracts/test_queue_contract.py): Redis streams
against the real Redis on loopback (a database of the test's own) cut off and flushed, and
workers woken end to end. The catalog stays the truth: a dead or flushed Redis delays jobs,
never loses them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from bench.chroma_server import free_port
from core.embedding import Embedder
from core.queue import open_queue
from core.queue.protocol import WakeQueue
from core.queue.redis_streams import STREAM
from tests.conftest import make_settings
from tests.nodes import Node

DOC = b"# Backup\n\nBack up the data directory every night.\n"


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def queues(tmp_path: Path) -> Iterator[Callable[..., WakeQueue]]:
    opened: list[WakeQueue] = []

    def open_one(**overrides: object) -> WakeQueue:
        opened.append(open_queue(make_settings(tmp_path, **overrides)))
        return opened[-1]

    yield open_one
    for queue in opened:
        queue.close()


def _listening(queue: WakeQueue) -> threading.Event:
    woken = threading.Event()
    queue.listen(woken.set)
    return woken


def test_a_listener_cut_off_by_redis_gets_the_wake_up_sent_meanwhile(
    queues: Callable[..., WakeQueue], redis_url: str
) -> None:
    queue = queues(queue_url=redis_url)
    woken = _listening(queue)
    time.sleep(0.3)  # until the listener's read is under way, so that there is one to cut off
    admin = redis.Redis.from_url(redis_url)
    db = admin.connection_pool.connection_kwargs["db"]
    killed = sum(
        admin.client_kill_filter(_id=c["id"])
        for c in admin.client_list()
        if int(c["db"]) == db and c["cmd"] == "xread"
    )
    assert killed == 1
    queues(queue_url=redis_url).notify()
    assert woken.wait(40)
    admin.close()


def test_flushall_loses_no_wake_up_after_it(
    queues: Callable[..., WakeQueue], redis_url: str
) -> None:
    queue = queues(queue_url=redis_url)
    woken = _listening(queue)
    sender = queues(queue_url=redis_url)
    sender.notify()
    assert woken.wait(10)
    woken.clear()
    admin = redis.Redis.from_url(redis_url)
    admin.flushdb()
    assert admin.exists(STREAM) == 0
    sender.notify()
    assert woken.wait(10)
    admin.close()


def test_a_job_added_by_another_process_starts_without_waiting_for_a_poll(
    tmp_path: Path, embedder: Embedder, redis_url: str
) -> None:
    """A worker polling once a minute takes a job within seconds: the API's wake-up reaches
    it through Redis."""
    settings = make_settings(tmp_path / "data", queue_url=redis_url, worker_poll_seconds=60)
    worker, api = Node(settings, embedder), Node(settings, embedder)
    try:
        worker.start_worker(sole_owner=False)
        time.sleep(1)  # past the worker's first look at the catalog
        added = api.add_bytes(api.operations.open_collection("kb"), "backup.md", DOC)
        _until(lambda: api.catalog.get_job(added.job.id).state == "done", 30, "the job to be done")
    finally:
        worker.stop()
        api.stop()


def test_without_redis_the_worker_still_finds_jobs_by_polling(
    tmp_path: Path, embedder: Embedder
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings = make_settings(tmp_path / "data", queue_url=url, worker_poll_seconds=0.2)
    node = Node(settings, embedder)
    try:
        node.start_worker(sole_owner=False)
        added = node.add_bytes(node.operations.open_collection("kb"), "backup.md", DOC)
        _until(lambda: node.catalog.get_job(added.job.id).state == "done", 30, "the job to be done")
    finally:
        node.stop()
