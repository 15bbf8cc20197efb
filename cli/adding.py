"""`zhiku add`: store and enqueue files, through the running service's API when one owns the
data directory, else straight into the catalog (always, with a Chroma server: the catalog is
shared and the queue wakes the workers); with --wait, show progress until each document is
ready or failed."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
from tqdm import tqdm

from cli.service_client import service_client
from core.catalog.records import JobState
from core.ownership import DataDirOwnership, owner_required, read_owner
from core.resources import Resources
from core.settings import Settings
from ingest.intake import printable
from ingest.lifecycle import WorkerThread
from ingest.operations import Operations

FINISHED = {JobState.DONE.value, JobState.FAILED.value, JobState.CANCELLED.value}


@dataclass(frozen=True)
class JobView:
    state: str
    pages_done: int
    pages_total: int
    chunks_done: int
    chunks_total: int
    error: str | None


@dataclass(frozen=True)
class Submitted:
    filename: str
    job_id: str | None
    error: str | None = None


class Target(Protocol):
    def submit_all(self, paths: list[Path]) -> list[Submitted]: ...

    def jobs(self, job_ids: list[str]) -> dict[str, JobView]: ...


class LocalTarget:
    def __init__(self, resources: Resources, operations: Operations, collection: str) -> None:
        self._resources = resources
        self._operations = operations
        self._collection = operations.open_collection(collection)

    def submit_all(self, paths: list[Path]) -> list[Submitted]:
        results = self._operations.add_paths(self._collection, paths)
        return [Submitted(r.document.filename, r.job.id) for r in results]

    def jobs(self, job_ids: list[str]) -> dict[str, JobView]:
        # One query for all: polling each of a thousand jobs twice a second would take the
        # worker's CPU in this very process.
        return {
            j.id: JobView(
                j.state.value, j.pages_done, j.pages_total, j.chunks_done, j.chunks_total, j.error
            )
            for j in self._resources.catalog.get_jobs(job_ids)
        }


class HttpTarget:
    def __init__(self, base_url: str, collection: str, api_key: str | None) -> None:
        self._http = service_client(base_url, api_key)
        self._collection = collection
        found = self._http.get(f"/api/collections/{collection}")
        if found.status_code == 404:
            check_response(self._http.post("/api/collections", json={"name": collection}))
        else:
            check_response(found)

    def submit_all(self, paths: list[Path]) -> list[Submitted]:
        # One request per file, so a file the service refuses fails alone.
        return [self._submit(path) for path in paths]

    def _submit(self, path: Path) -> Submitted:
        with path.open("rb") as source:
            response = self._http.post(
                f"/api/collections/{self._collection}/documents",
                files=[("files", (path.name, source))],
            )
        if response.status_code in (413, 415, 422):
            return Submitted(path.name, None, response.json()["error"]["message"])
        check_response(response)
        return Submitted(path.name, response.json()[0]["job"]["id"])

    def jobs(self, job_ids: list[str]) -> dict[str, JobView]:
        return {job_id: self._job(job_id) for job_id in job_ids}

    def _job(self, job_id: str) -> JobView:
        response = self._http.get(f"/api/jobs/{job_id}")
        check_response(response)
        body = response.json()
        p = body["progress"]
        return JobView(
            body["state"],
            p["pages_done"],
            p["pages_total"],
            p["chunks_embedded"],
            p["chunks_total"],
            body["error"],
        )


def check_response(response: httpx.Response) -> None:
    if response.is_error:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise SystemExit(f"zhiku: the service answered {response.status_code}: {message}")


def expand(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            yield path
        else:
            raise SystemExit(f"zhiku: no such file or folder: {path}")


def add_files(settings: Settings, paths: list[Path], collection: str, wait: bool) -> int:
    files = list(expand(paths))
    if not owner_required(settings):
        return _add_shared(settings, files, collection, wait)
    owner = read_owner(settings.data_dir)
    if owner is not None and owner.url:
        target: Target = HttpTarget(owner.url, collection, settings.client_api_key)
        return _submit_and_track(target, files, wait)
    with Resources(settings) as resources:
        operations = Operations(resources)
        local = LocalTarget(resources, operations, collection)
        if not wait or owner is not None:
            # A worker process owns the data directory: it picks the jobs up from the catalog.
            code = _submit_and_track(local, files, wait)
            if not wait:
                who = "the running worker" if owner else "`zhiku serve` or `zhiku worker`"
                print(f"queued {len(files)} file(s); {who} will process them")
            return code
        with DataDirOwnership(settings.data_dir, role="cli"):
            # The worker (and its parser processes) starts first: it parses each batch of
            # files as soon as it is recorded, while the next batch is read.
            worker = WorkerThread(resources, operations)
            worker.start(sole_owner=True)
            try:
                return _submit_and_track(local, files, wait)
            finally:
                worker.stop()


def _add_shared(settings: Settings, files: list[Path], collection: str, wait: bool) -> int:
    """Scale-out: nobody owns the data, so the files go straight into the shared catalog and
    blob volume, and the intake wakes the workers through the queue."""
    with Resources(settings) as resources:
        local = LocalTarget(resources, Operations(resources), collection)
        code = _submit_and_track(local, files, wait)
    if not wait:
        print(f"queued {len(files)} file(s); the workers will process them")
    return code


def _submit_and_track(target: Target, files: list[Path], wait: bool) -> int:
    submitted = target.submit_all(files)
    if not wait:
        return 0
    views = _track(target, submitted)
    failures = [
        (s.filename, s.error or (views[s.job_id].error if s.job_id else None) or "failed")
        for s in submitted
        if s.error or (s.job_id and views[s.job_id].state != JobState.DONE.value)
    ]
    ready = len(submitted) - len(failures)
    print(f"{ready} ready, {len(failures)} failed")
    for name, reason in failures:
        print(f"  failed: {printable(name)}: {reason}", file=sys.stderr)
    return 0 if not failures else 1


def _track(target: Target, submitted: list[Submitted]) -> dict[str, JobView]:
    pending = {s.job_id for s in submitted if s.job_id}
    views: dict[str, JobView] = {}
    pages = tqdm(desc="pages parsed   ", unit="page", total=0, dynamic_ncols=True)
    chunks = tqdm(desc="chunks embedded", unit="chunk", total=0, dynamic_ncols=True)
    try:
        while True:
            # Jobs still running are polled; finished ones keep their last view.
            views.update(
                target.jobs(
                    [j for j in pending if j not in views or views[j].state not in FINISHED]
                )
            )
            for bar, done, total in (
                (
                    pages,
                    sum(v.pages_done for v in views.values()),
                    sum(v.pages_total for v in views.values()),
                ),
                (
                    chunks,
                    sum(v.chunks_done for v in views.values()),
                    sum(v.chunks_total for v in views.values()),
                ),
            ):
                bar.total = total
                bar.n = done
                bar.refresh()
            if all(views[j].state in FINISHED for j in pending):
                break
            time.sleep(0.5)
    finally:
        pages.close()
        chunks.close()
    return views
