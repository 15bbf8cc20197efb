"""Who owns an embedded data directory: an embedded vector store (Chroma's folder, a
milvus-lite file) must be opened by one process only, as its backend's `single_process` says.
The owner holds an OS lock on `owner.lock` for its lifetime (the kernel drops it when the
process dies, even by SIGKILL) and says in `owner.json` how to reach it.

With a vector store server (ZHIKU_CHROMA_URL, ZHIKU_MILVUS_URI) nothing in the data directory
needs one owner: API replicas and workers run side by side, and nobody takes the lock."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from core.errors import DataDirLocked
from core.settings import Settings
from core.stores import VECTOR_STORES


@dataclass(frozen=True)
class OwnerInfo:
    pid: int
    role: str
    url: str | None
    since: float


class DataDirOwnership:
    def __init__(self, data_dir: Path, role: str, url: str | None = None) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._info_path = data_dir / "owner.json"
        self._lock = FileLock(data_dir / "owner.lock", thread_local=False)
        self.role = role
        self.url = url

    def acquire(self) -> DataDirOwnership:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            owner = read_owner(self._info_path.parent)
            who = f"{owner.role} (pid {owner.pid})" if owner else "another process"
            where = f" at {owner.url}" if owner and owner.url else ""
            raise DataDirLocked(
                "data_dir_locked",
                detail=f"the data directory {self._info_path.parent} is in use by {who}{where};"
                " the embedded vector store allows one process: stop it, use its API, or set"
                " another ZHIKU_DATA_DIR",
            ) from None
        info = {"pid": os.getpid(), "role": self.role, "url": self.url, "since": time.time()}
        tmp = self._info_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(self._info_path)
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self._info_path.unlink(missing_ok=True)
            self._lock.release(force=True)

    def __enter__(self) -> DataDirOwnership:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def read_owner(data_dir: Path) -> OwnerInfo | None:
    """The live owner of a data directory, or None when nobody holds it."""
    probe = FileLock(data_dir / "owner.lock", thread_local=False)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        try:
            raw = json.loads((data_dir / "owner.json").read_text())
            return OwnerInfo(int(raw["pid"]), str(raw["role"]), raw.get("url"), float(raw["since"]))
        except (OSError, ValueError, KeyError):
            return OwnerInfo(pid=0, role="unknown", url=None, since=0.0)
    probe.release(force=True)
    return None


def owner_required(settings: Settings) -> bool:
    """Whether the vector store these settings pick lets only one process open it."""
    return VECTOR_STORES.picked(settings).single_process(settings)


@contextmanager
def own_data_dir(settings: Settings, role: str, url: str | None = None) -> Iterator[bool]:
    """Hold the data directory for the block when it needs one owner; yields whether it is
    held (the holder is then the only worker, so it may requeue jobs left running).
    Raises DataDirLocked."""
    if not owner_required(settings):
        yield False
        return
    with DataDirOwnership(settings.data_dir, role=role, url=url):
        yield True
