"""The ingestion worker: claims jobs from the catalog with a lease, keeps the lease alive while
it works, and records each job's outcome. Parsing goes first so every document becomes
searchable before any embedding starts."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial

from core.catalog import Jobs, LeaseLost
from core.catalog.records import Job, JobStage, JobState
from core.errors import NotFound, ZhikuError
from core.messages import Reason
from core.resources import Resources
from ingest.checkpoint import checkpoint_dir, drop_checkpoint
from ingest.operations import Operations
from ingest.parse import Parsed, ParsePool
from ingest.parse_process import ParserCrashed, ParseStopped
from ingest.pipeline import Pipeline

log = logging.getLogger("zhiku.worker")

# How often a worker looks whether the jobs in hand were cancelled, so that a cancel stops
# their parse within seconds rather than at the next lease renewal.
_CANCEL_CHECK_S = 1.0
# While parsing, idle parser processes look for more documents at most this often.
_CLAIM_AGAIN_S = 1.0


class Worker:
    def __init__(
        self,
        resources: Resources,
        operations: Operations,
        parse_pool: ParsePool,
        name: str | None = None,
    ) -> None:
        self._settings = resources.settings
        self._catalog: Jobs = resources.catalog
        self._operations = operations
        self._pipeline = Pipeline(resources)
        self._parse_pool = parse_pool
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = threading.Event()
        self._checkpoints = checkpoint_dir(self._settings.blob_path)
        # When the loop last came round or a job in hand moved on (monotonic): /readyz
        # reports a worker that stopped ticking.
        self.ticked_at = time.monotonic()
        self._beside: threading.Thread | None = None
        self._claimed_at = 0.0

    def wake(self) -> None:
        """Called when a job was just committed, so it starts without waiting for a poll."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.ticked_at = time.monotonic()
            if not self.run_once():
                woken = self._wake.wait(self._settings.worker_poll_seconds)
                self._wake.clear()
                if not woken:
                    # Idle for a whole poll: load the model now (seconds of CPU, mostly imports
                    # holding the GIL), never beside parsing or while files are being added.
                    # Loading it in a thread beside them (measured) made SQuAD's 1,204
                    # documents searchable in 9.1 s instead of 3.8 s, and ready no sooner.
                    self._pipeline.warm_up()

    def run_once(self) -> bool:
        """Do one unit of work (parse a document per pool process, or embed a slice); False
        when idle."""
        s = self._settings
        jobs = self._catalog.claim_jobs(
            JobStage.PARSE,
            self.name,
            s.job_lease_seconds,
            s.job_max_attempts,
            # Several jobs per process keep the pool busy between claims.
            max_jobs=max(1, 4 * self._parse_pool.processes),
        )
        if jobs:
            held = [j.id for j in jobs]
            more = partial(self._more_while_parsing, held)
            try:
                with self._leased(held):
                    for job, outcome in self._parse_pool.parse(jobs, self.name, more):
                        self.ticked_at = time.monotonic()
                        self._parsed(job, outcome)
            finally:
                if self._beside is not None:
                    self._beside.join()
                    self._beside = None
            return True
        return self._embed_slice()

    def _embed_slice(self) -> bool:
        s = self._settings
        jobs = self._catalog.claim_jobs(
            JobStage.EMBED,
            self.name,
            s.job_lease_seconds,
            s.job_max_attempts,
            max_chunks=s.embed_slice_chunks,
        )
        if jobs:
            with self._leased([j.id for j in jobs]):
                self._attempt(jobs, lambda: self._pipeline.embed(jobs, self.name))
            return True
        return False

    def _more_while_parsing(self, held: list[str], idle: int, long_parse: bool) -> list[Job]:
        """Called by the parse pool when some of its processes have nothing left to parse:
        more documents for them, so that none waits for a long parse (a large or hostile
        file) to end; with none left and a long parse running, the idle cores embed what was
        parsed, a slice at a time in a thread, so the documents beside it become ready."""
        now = time.monotonic()
        if now - self._claimed_at < _CLAIM_AGAIN_S:
            return []
        self._claimed_at = now
        s = self._settings
        jobs = self._catalog.claim_jobs(
            JobStage.PARSE, self.name, s.job_lease_seconds, s.job_max_attempts, max_jobs=4 * idle
        )
        held.extend(j.id for j in jobs)
        if not jobs and long_parse and (self._beside is None or not self._beside.is_alive()):
            self._beside = threading.Thread(
                target=self._embed_slice, name="zhiku-embed-beside", daemon=True
            )
            self._beside.start()
        return jobs

    def _parsed(self, job: Job, outcome: Parsed | Exception) -> None:
        """Record a parse's outcome. Only the document's own faults are charged to it: a
        parser that crashed (tried again until its attempts run out) or a cap it hit (failed
        at once); a stopping worker gives the job back for a later claim to continue."""
        if isinstance(outcome, ParseStopped):
            self._catalog.release_job(job.id, self.name)
            return
        if isinstance(outcome, ParserCrashed):
            try:
                charged = self._catalog.charge_failure(
                    job.id, self.name, outcome.args[0], self._settings.job_max_attempts
                )
            except LeaseLost:
                return
            log.warning(
                "job %s: the parser process died (%s) (failure %d)",
                job.id,
                outcome.args[0].params,
                charged.failures,
            )
            if charged.state == JobState.FAILED:
                drop_checkpoint(self._checkpoints, job.id)
            return
        if isinstance(outcome, Exception):
            self._record([job], outcome)
        else:
            if outcome.resumed_pages:
                log.info(
                    "job %s: continued from page %d of %d, read before the worker stopped",
                    job.id,
                    outcome.resumed_pages + 1,
                    outcome.pages,
                )
            self._attempt([job], partial(self._pipeline.store, job, self.name, outcome))
        if self._left_parsing(job.id):
            drop_checkpoint(self._checkpoints, job.id)

    def _left_parsing(self, job_id: str) -> bool:
        try:
            job = self._catalog.get_job(job_id)
        except NotFound:
            return True
        return job.stage != JobStage.PARSE or job.state in (JobState.FAILED, JobState.CANCELLED)

    def _attempt(self, jobs: Sequence[Job], work: Callable[[], None]) -> None:
        try:
            work()
        except Exception as exc:  # the one place a job's failure is caught, then recorded
            self._record(jobs, exc)

    def _record(self, jobs: Sequence[Job], exc: Exception) -> None:
        if isinstance(exc, LeaseLost):
            log.info("lost the lease on %s; another worker or a cancel took over", jobs)
        elif isinstance(exc, ZhikuError):
            # The job's error is shown to API clients: the public message, which names no
            # internal address (a store's, the model server's); the log has the full one.
            if exc.public != exc.message:
                log.warning("job failed: %s", exc.message)
            self._fail(jobs, exc.reason)
        elif isinstance(exc, MemoryError):
            # Parsed in this process (ZHIKU_PARSE_PROCESSES=0), with no cap of its own.
            self._fail(jobs, Reason("worker_out_of_memory"))
        else:
            log.error("job failed unexpectedly", exc_info=exc)
            self._fail(jobs, Reason("processing_failed", {"kind": type(exc).__name__}))

    def _fail(self, jobs: Sequence[Job], reason: Reason) -> None:
        for job in jobs:
            try:
                self._operations.fail_job(job, reason, self.name)
            except LeaseLost:
                continue

    @contextmanager
    def _leased(self, ids: list[str]) -> Iterator[None]:
        """Renew the leases every third of their length while the work runs; a worker that
        dies stops renewing and its jobs become claimable when the lease runs out."""
        done = threading.Event()
        lease = self._settings.job_lease_seconds

        def renew() -> None:
            renewed = time.monotonic()
            while not done.wait(min(_CANCEL_CHECK_S, lease / 3)):
                # A cheap read every second finds cancelled and deleted jobs; the lease is
                # written every third of its length.
                try:
                    jobs_now = self._catalog.get_jobs(ids)
                    lost = set(ids) - {j.id for j in jobs_now if j.state == JobState.RUNNING}
                    if time.monotonic() - renewed >= lease / 3:
                        renewed = time.monotonic()
                        lost |= self._catalog.renew_leases(ids, self.name, lease)
                except Exception as exc:  # a catalog hiccup: try again at the next tick
                    log.warning("could not check or renew leases: %s", exc)
                    continue
                if lost:
                    self._parse_pool.cancel(lost)

        thread = threading.Thread(target=renew, name="zhiku-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
