"""A `chroma run` server of the installed chromadb package on a free loopback port, for the
scale benchmark's servers mode and the tests that need a real Chroma server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


class ChromaDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chroma_cli() -> str | None:
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.exists() else shutil.which("chroma")


@contextmanager
def running_chroma(data: Path, log: Path) -> Iterator[tuple[str, int]]:
    """(URL, process id) of a server keeping its data in `data` and writing to `log`, up once
    its heartbeat answers; stopped on exit. Raises ChromaDidNotStart."""
    cli = chroma_cli()
    if cli is None:
        raise ChromaDidNotStart("the `chroma` command of the chromadb package is not installed")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [cli, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise ChromaDidNotStart(
                    f"`chroma run` did not start (exit {server.poll()}): {tail}"
                )
            time.sleep(0.2)
        yield url, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
