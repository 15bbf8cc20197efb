"""The embedded default: the service and its worker thread share a process, so a wake-up is
a function call."""

from __future__ import annotations

import threading
from collections.abc import Callable

from core.settings import Settings


class InProcessQueue:
    def __init__(self, settings: Settings) -> None:
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for wake in listeners:
            wake()

    def listen(self, wake: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(wake)

    def close(self) -> None:
        with self._lock:
            self._listeners.clear()
