"""Wake-up queues keyed by the scheme of ZHIKU_QUEUE_URL (none: in-process)."""

from __future__ import annotations

from urllib.parse import urlsplit

from core.queue.protocol import WakeQueue
from core.registry import Registry
from core.settings import Settings

WAKE_QUEUES = Registry[WakeQueue](
    "queue",
    {
        "inprocess": "core.queue.inprocess:InProcessQueue",
        "redis": "core.queue.redis_streams:RedisStreamQueue",
        "rediss": "core.queue.redis_streams:RedisStreamQueue",
    },
)


def queue_key(settings: Settings) -> str:
    return urlsplit(settings.queue_url).scheme if settings.queue_url else "inprocess"


def open_queue(settings: Settings) -> WakeQueue:
    return WAKE_QUEUES.create(queue_key(settings), settings)
