"""Wake-ups over Redis (ZHIKU_QUEUE_URL=redis://host:6379/0), for workers in other processes
and on other machines.

A stream, not pub/sub: every worker reads every entry (fan-out), and a worker that lost its
connection resumes from the last entry it saw, so wake-ups published while it was cut off
still reach it. Nothing here is the truth: after FLUSHALL or an outage the workers' polling
of the catalog finds every job, and a listener that fails logs it and reconnects with backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import ExponentialWithJitterBackoff

from core.settings import Settings

log = logging.getLogger("zhiku.queue")

STREAM = "zhiku:jobs"
# Wake-ups carry no data, so a short stream is enough to bridge an outage.
_MAXLEN = 1000
# How long one blocking read waits; it bounds how long `close` takes.
_BLOCK_MS = 1000


class RedisStreamQueue:
    def __init__(self, settings: Settings) -> None:
        url = settings.queue_url or ""
        self._client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        kwargs = self._client.connection_pool.connection_kwargs
        # Host, port and database only: the URL may hold a password.
        self._where = f"redis {kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db', 0)}"
        self._url = url
        self._poll = settings.worker_poll_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def notify(self) -> None:
        try:
            self._client.xadd(STREAM, {"event": "jobs"}, maxlen=_MAXLEN, approximate=True)
        except redis.RedisError as exc:
            log.warning(
                "could not wake workers through %s (%s); they find the jobs by polling",
                self._where,
                exc,
            )

    def listen(self, wake: Callable[[], None]) -> None:
        # The starting point is taken before returning, so a wake-up sent once `listen` has
        # returned reaches the listener; taken by the thread, it raced the first notify, and a
        # job committed meanwhile waited for the next poll.
        try:
            start: str | None = _newest_id(self._client)
        except redis.RedisError:
            start = None  # the listener takes it once it reaches the server, and logs the outage
        thread = threading.Thread(
            target=self._listen, args=(wake, start), name="zhiku-queue-listener", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _listen(self, wake: Callable[[], None], last_id: str | None) -> None:
        backoff = ExponentialWithJitterBackoff(cap=30, base=0.5)
        failures = 0
        reader: Any = None
        while not self._stop.is_set():
            try:
                if reader is None:
                    reader = redis.Redis.from_url(
                        self._url,
                        socket_connect_timeout=2,
                        socket_timeout=_BLOCK_MS / 1000 + 5,
                        decode_responses=True,
                    )
                if last_id is None:
                    last_id = _newest_id(reader)
                entries = reader.xread({STREAM: last_id}, count=100, block=_BLOCK_MS)
                if failures:
                    log.info("reconnected to %s", self._where)
                    failures = 0
            except redis.RedisError as exc:
                if reader is not None:
                    reader.close()
                    reader = None
                failures += 1
                if failures == 1:
                    log.warning(
                        "lost %s (%s); polling the catalog every %gs and reconnecting",
                        self._where,
                        exc,
                        self._poll,
                    )
                self._stop.wait(backoff.compute(failures))
                continue
            if entries:
                last_id = entries[-1][1][-1][0]
                wake()
        if reader is not None:
            reader.close()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=_BLOCK_MS / 1000 + 10)
        self._threads = []
        self._client.close()


def _newest_id(client: redis.Redis) -> str:
    """The ID of the stream's newest entry ("0-0" while it has none): the listener wakes for
    the entries after it. Entries from before are old news (a worker polls the catalog when it
    starts). Unlike the server's clock, it also counts an entry added later in the same
    millisecond, whose ID is that millisecond's "-0"."""
    newest = client.xrevrange(STREAM, count=1)
    if not newest:
        return "0-0"
    entry_id = newest[0][0]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
