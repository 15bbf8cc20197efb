"""Steps tests take through a catalog, as the worker and the API would: open catalogs on one
database, add documents, store their parsed chunks, and run work in threads at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from core.catalog import Catalog, open_catalog
from core.catalog.records import JobStage, NewDocument
from core.lexical_tokens import lexical_tokens
from core.types import ChunkDraft
from tests.conftest import make_settings

T = TypeVar("T")


@contextmanager
def catalogs_on(data_dir: Path, database_url: str | None) -> Iterator[Callable[[], Catalog]]:
    """Opens catalogs on one database, as separate processes of a deployment would; closes
    them at the end."""
    opened: list[Catalog] = []

    def build() -> Catalog:
        catalog = open_catalog(make_settings(data_dir, database_url=database_url))
        opened.append(catalog)
        return catalog

    try:
        yield build
    finally:
        for catalog in opened:
            catalog.close()


def doc_id(i: int) -> str:
    """A document id (sha256-shaped); chunk ids take its first half."""
    return f"{i:032x}" * 2


def add(catalog: Catalog, collection_id: str, count: int) -> list[str]:
    """Documents doc_id(0) … doc_id(count - 1); returns their jobs."""
    added = catalog.add_documents(
        [NewDocument(collection_id, doc_id(i), f"f{i}.txt", "text/plain", 10) for i in range(count)]
    )
    return [job.id for _, job, _ in added]


def parse(catalog: Catalog, job_id: str, worker: str, texts: list[str]) -> None:
    """Store one chunk per text, under the heading path 标题 / Title, as the parse stage does."""
    drafts = [ChunkDraft(i, t, None, ("标题", "Title"), 0, len(t), 5) for i, t in enumerate(texts)]
    lexical = [" ".join(lexical_tokens("\n".join((*d.heading_path, d.text)))) for d in drafts]
    hashes = [t.encode().ljust(32, b"\0")[:32] for t in texts]
    catalog.store_parsed(job_id, worker, 1, drafts, lexical, hashes)


def index(catalog: Catalog, texts: list[str], name: str = "kb") -> tuple[str, list[str]]:
    """A collection with one searchable document per text; returns its id and the jobs."""
    collection = catalog.create_collection(name, "model", 200, 20)
    jobs = add(catalog, collection.id, len(texts))
    claimed = catalog.claim_jobs(JobStage.PARSE, "w", 60, 3, max_jobs=len(texts))
    assert sorted(j.id for j in claimed) == sorted(jobs)
    for job_id, text in zip(jobs, texts, strict=True):
        parse(catalog, job_id, "w", [text])
    return collection.id, jobs


def together(workers: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(i)` in threads that all start at the same moment."""
    start = threading.Barrier(workers)
    results: list[Any] = [None] * workers
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results
