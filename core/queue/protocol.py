"""What a wake-up queue provides. The catalog's job rows, with their leases, are the truth:
a queue only shortens the wait between a job being committed and a worker taking it, and
workers poll the catalog anyway, so a lost wake-up delays a job and loses nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class WakeQueue(Protocol):
    def notify(self) -> None:
        """Tell the workers that jobs were committed. Never raises: when the queue cannot be
        reached the failure is logged and the workers' polling finds the jobs."""
        ...

    def listen(self, wake: Callable[[], None]) -> None:
        """Call `wake` (from any thread) whenever jobs were committed, in this process or,
        for a server-backed queue, in any process, from the moment `listen` returns until
        `close`. Never raises: an unreachable server is logged and retried."""
        ...

    def close(self) -> None:
        """Stop listening; idempotent."""
        ...
