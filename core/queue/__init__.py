"""Wake-up queues keyed by the scheme of ZHIKU_QUEUE_URL (none: in-process)."""

from __future__ import annotations

from core.queue.protocol import WakeQueue
from core.registry import Registry, url_scheme
from core.settings import Settings

WAKE_QUEUES = Registry[WakeQueue](
    "queue",
    {
        "inprocess": "core.queue.inprocess:InProcessQueue",
        "redis": "core.queue.redis_streams:RedisStreamQueue",
        "rediss": "core.queue.redis_streams:RedisStreamQueue",
    },
    choose=lambda settings: url_scheme(settings.queue_url, "inprocess"),
)


def open_queue(settings: Settings) -> WakeQueue:
    return WAKE_QUEUES.open(settings)
