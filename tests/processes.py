"""Zhiku as real processes for end-to-end tests: `zhiku serve` and `zhiku worker` with an
environment of their own and their output in a log file. Each runs in a process group of its
own, so the parse processes it starts die with it: whatever is left when the block ends (a test
that failed, a worker killed mid-job) is killed, and nothing outlives the test."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ZHIKU = str(Path(sys.executable).parent / "zhiku")


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@dataclass(frozen=True)
class ScaleOut:
    """The servers a scale-out deployment shares, and nothing else: processes given this
    environment have a data directory each."""

    database_url: str
    chroma_url: str
    queue_url: str
    blob_dir: Path

    def env(self, data_dir: Path, **extra: str) -> dict[str, str]:
        return {
            "ZHIKU_DATA_DIR": str(data_dir),
            "ZHIKU_BLOB_DIR": str(self.blob_dir),
            "ZHIKU_DATABASE_URL": self.database_url,
            "ZHIKU_CHROMA_URL": self.chroma_url,
            "ZHIKU_QUEUE_URL": self.queue_url,
            **extra,
        }


# Tests poll far faster than people; the limits' own tests turn them on.
UNLIMITED = {"ZHIKU_RATE_LIMIT": "0", "ZHIKU_AUTH_FAILURE_LIMIT": "0"}


class ZhikuProcess:
    """One `zhiku` command running; its working directory is its data directory, so no `.env`
    of the checkout leaks into it. A service has a URL."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        data_dir: Path,
        url: str | None = None,
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.url = url
        self.log_path = data_dir / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                [ZHIKU, *args],
                cwd=data_dir,
                env={**os.environ, **UNLIMITED, "HF_HUB_OFFLINE": "1", **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self, tail: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]

    def running(self) -> bool:
        return self.popen.poll() is None

    def ready(self) -> bool:
        """A service answers /healthz; a worker logged that it started. Having exited is an
        error at once: no wait should outlast it."""
        if not self.running():
            raise AssertionError(f"{self.name} exited ({self.popen.returncode}):\n{self.log()}")
        if self.url is not None:
            return is_up(self.url)
        return " started (queue: " in self.log()

    def wait_ready(self, timeout: float = 120) -> ZhikuProcess:
        wait_until(self.ready, timeout, f"{self.name} to start")
        return self

    def terminate(self) -> None:
        """SIGTERM, as `docker stop` or a rolling update sends it."""
        self.popen.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 120) -> int:
        """The exit status, once it exited."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} still runs after {timeout:g} s:\n{self.log()}"
            ) from None

    def stop(self, timeout: float = 120) -> int:
        """SIGTERM, then its exit status."""
        self.terminate()
        return self.wait(timeout)

    def kill(self) -> None:
        """SIGKILL to the process alone, as the kernel's OOM killer would send it: the parse
        processes it started are left to notice on their own."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def group_alive(self) -> bool:
        """Whether the process or anything it started still runs."""
        try:
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill_group(self) -> None:
        """SIGKILL to the process and everything it started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()


class ZhikuProcesses:
    """Starts `zhiku` processes; every one of them is killed, with its process group, when the
    `with` block ends. Starting returns at once, so several processes start side by side."""

    def __init__(self) -> None:
        self.started: list[ZhikuProcess] = []

    def __enter__(self) -> ZhikuProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.started:
            process.kill_group()

    def worker(self, name: str, env: dict[str, str], data_dir: Path) -> ZhikuProcess:
        return self._start(ZhikuProcess(name, ["worker"], env, data_dir))

    def service(self, name: str, env: dict[str, str], data_dir: Path, port: int) -> ZhikuProcess:
        """`zhiku serve` on 127.0.0.1:port."""
        where = {"ZHIKU_HOST": "127.0.0.1", "ZHIKU_PORT": str(port)}
        url = f"http://127.0.0.1:{port}"
        return self._start(ZhikuProcess(name, ["serve"], {**env, **where}, data_dir, url))

    def _start(self, process: ZhikuProcess) -> ZhikuProcess:
        self.started.append(process)
        return process


def is_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
