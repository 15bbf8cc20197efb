"""One parser process: parses one document at a time under an address-space cap, and is killed
by its parent when the document takes too long, is cancelled or the worker stops. A document
that hits a cap fails alone, with a reason a person understands, and is not tried again; the
pool replaces the process and the other documents go on.

The cap is on address space (RLIMIT_AS) above what the process already maps once its parser
is loaded, set before each document and lifted after it: the tokenizer and Python map a few
hundred MB at start that are not the document's. Where a library turns a failed allocation
into an error of its own (lxml reports a "corrupt" document), a failure raised with the address
space close to the cap is read as what it is."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from typing import Any

from core.catalog.records import Job
from core.errors import LoadError
from core.messages import Reason
from core.settings import Settings

log = logging.getLogger("zhiku.parse")

_MB = 1024 * 1024
# A failure within this share of the cap from it counts as running out of memory: allocators
# grow their buffers by doubling, so the one that failed may have been that far from the cap.
_NEAR_CAP = 0.25
# A process whose address space once grew past half the cap is replaced after its document,
# so that its high-water mark (VmPeak) keeps meaning "this document" for the next one.
_RECYCLE_SHARE = 0.5


class ParseLimit(LoadError):
    """A document that needs more memory or time than parsing is allowed: failed at once and
    not retried, since it would fail the same way."""


def too_much_memory(memory_mb: int) -> ParseLimit:
    return ParseLimit("parse_memory_limit", memory_mb=memory_mb)


def too_slow(seconds: float) -> ParseLimit:
    return ParseLimit("parse_time_limit", seconds=seconds)


class ParserCrashed(Exception):
    """The parser process died while reading a document (its one argument, a Reason, says
    how it ended): charged to the document, which is tried again until its attempts run
    out."""


class ParseStopped(Exception):
    """The worker is stopping: the parse was cut short through no fault of the document."""


def _vm(field: str) -> int:
    """A VmSize/VmPeak line of /proc/self/status, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} is not in /proc/self/status")


@dataclass(frozen=True)
class _Reply:
    outcome: Any  # Parsed or the exception raised
    recycle: bool


def _child_main(conn: Connection, settings: Settings, memory_mb: int) -> None:
    # Imported here: the parent needs none of the parser's modules to run this process.
    from ingest.parse import Parser

    # The parent stops a parse by killing the process; Ctrl-C in a terminal is for it alone.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parser = Parser(settings)
    parent = os.getppid()
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    started_at = _vm("VmSize")
    conn.send(None)  # ready
    while True:
        try:
            job, worker = conn.recv()
        except (EOFError, OSError):  # the parent closed the pipe or was killed
            return
        reply = _parse_capped(parser, job, worker, memory_mb, started_at)
        try:
            conn.send(reply)
        except Exception as exc:  # an exception that does not pickle
            conn.send(_Reply(RuntimeError(f"{type(reply.outcome).__name__}: {exc}"), True))
        if reply.recycle:
            return


def _parse_capped(parser: Any, job: Job, worker: str, memory_mb: int, started_at: int) -> _Reply:
    if memory_mb <= 0:
        try:
            return _Reply(parser.parse(job, worker), False)
        except Exception as exc:
            return _Reply(exc, False)
    cap = memory_mb * _MB
    limit = _vm("VmSize") + cap
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    outcome: Any
    exhausted = False
    try:
        outcome = parser.parse(job, worker)
    except MemoryError:
        exhausted = True
    except Exception as exc:
        outcome = exc
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    peak = _vm("VmPeak")
    if exhausted or (isinstance(outcome, Exception) and peak >= limit - _NEAR_CAP * cap):
        outcome = too_much_memory(memory_mb)
    return _Reply(outcome, peak > started_at + _RECYCLE_SHARE * cap)


def _exit_when_orphaned(parent: int) -> None:
    """A parser process waits on its pipe forever if its parent is killed (SIGKILL, OOM): it
    leaves as soon as it is orphaned."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


class ParseProcess:
    """The parent's handle on one parser process."""

    def __init__(self, settings: Settings) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        # spawn, not fork: the worker runs beside threads (uvicorn, torch) that fork would
        # copy in an unknown state.
        self.process: SpawnProcess = context.Process(
            target=_child_main,
            args=(child, settings, settings.parse_memory_mb),
            name="zhiku-parse",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.started = False
        self.job: Job | None = None
        self._timeout = 0.0
        self.sent_at = 0.0
        self.deadline = float("inf")

    def send(self, job: Job, worker: str, timeout: float) -> None:
        self.job = job
        # One that died (while starting) is found dead by the pool, which reports a crash.
        with contextlib.suppress(OSError):
            self.conn.send((job, worker))
        self._timeout = timeout
        self.sent_at = time.monotonic()
        # The clock runs from when the process can start on the document, not while it is
        # still loading its parser.
        self.deadline = time.monotonic() + timeout if self.started else float("inf")

    def receive(self) -> _Reply | None:
        """The reply waiting in the pipe, if any (the ready signal of a starting process is
        taken and gives None)."""
        if not self.conn.poll():
            return None
        try:
            message = self.conn.recv()
        except EOFError:
            return None
        if not self.started:
            self.started = True
            if self.job is not None:
                self.deadline = time.monotonic() + self._timeout
            return self.receive()
        self.job = None
        assert isinstance(message, _Reply)
        return message

    def alive(self) -> bool:
        return self.process.is_alive()

    def exit_reason(self) -> Reason:
        code = self.process.exitcode
        if code is not None and code < 0:
            return Reason("parser_killed", {"signal": signal.Signals(-code).name})
        return Reason("parser_exited", {"status": code})

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
