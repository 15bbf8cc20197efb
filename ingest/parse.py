"""Parsing a document (load, split, lexical tokens). It is CPU-bound pure Python, so it runs in
a pool of processes: ingestion uses every core, the service's own process stays responsive
while documents are parsed, and a parser that crashes takes down a pool process, not the
worker."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from core.blobs import BlobStore
from core.catalog import open_catalog
from core.catalog.records import Job
from core.embedding import open_embedder
from core.errors import LoadError
from core.lexical_tokens import lexical_tokens
from core.settings import Settings
from core.types import ChunkDraft
from ingest.loaders import LOADERS
from ingest.split import Splitter

_PROGRESS_EVERY_S = 0.5


@dataclass(frozen=True)
class Parsed:
    pages: int
    drafts: list[ChunkDraft]
    lexical: list[str]
    hashes: list[bytes]


def lexical_text(heading_path: Sequence[str], text: str) -> str:
    """What the lexical index sees of a chunk: its headings carry words its text may lack."""
    return " ".join(lexical_tokens("\n".join((*heading_path, text))))


def text_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class Parser:
    """What parsing needs in one process: the catalog (for page progress), the stored files
    and the model's tokenizer (the model itself is never loaded here)."""

    def __init__(self, settings: Settings) -> None:
        self._catalog = open_catalog(settings)
        self._blobs = BlobStore(settings.blob_path)
        self._tokens = open_embedder(settings)

    def close(self) -> None:
        """Its catalog holds connections of its own (a pool, on PostgreSQL)."""
        self._catalog.close()

    def parse(self, job: Job, worker: str) -> Parsed:
        """Raises LoadError or UnsupportedMedia for bad bytes, LeaseLost when the job was taken
        away; writes nothing but page progress."""
        collection = self._catalog.collection_by_id(job.collection_id)
        document = self._catalog.get_document(job.collection_id, job.document_id)
        data = self._blobs.get(document.id)
        # The first report waits half a second: a short document reports nothing, and its
        # final count is written with its chunks.
        last = time.monotonic()

        def progress(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= _PROGRESS_EVERY_S and done < total:
                last = now
                self._catalog.set_page_progress(job.id, worker, done, total)

        loaded = LOADERS.create(document.media_type).load(data, progress)
        splitter = Splitter(
            self._tokens.count_tokens,
            self._tokens.token_spans,
            collection.chunk_tokens,
            collection.chunk_overlap_tokens,
            self._tokens.max_tokens,
        )
        drafts = splitter.split(loaded)
        if not drafts:
            raise LoadError("no text to index: the document is empty once read")
        return Parsed(
            loaded.pages,
            drafts,
            [lexical_text(d.heading_path, d.text) for d in drafts],
            [text_hash(d.text) for d in drafts],
        )


# One Parser per pool process, made by the pool's initializer.
_child_parser: Parser | None = None


def _start_child(settings: Settings) -> None:
    global _child_parser
    _child_parser = Parser(settings)
    # A pool process waits on its task queue forever if its parent is killed (SIGKILL, OOM):
    # it leaves as soon as it is orphaned.
    parent = os.getppid()
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _parse_in_child(job: Job, worker: str) -> Parsed:
    if _child_parser is None:
        raise RuntimeError("parse pool process was not initialised")
    return _child_parser.parse(job, worker)


class ParsePool:
    """`processes` = 0 parses in the calling thread (tests, tiny machines)."""

    def __init__(self, settings: Settings, processes: int) -> None:
        self._settings = settings
        self.processes = processes
        self._local = Parser(settings) if processes == 0 else None
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the pool's processes now, so their start-up overlaps other work."""
        if self._local is None and self._pool is None:
            # spawn, not fork: the worker runs beside threads (uvicorn, torch) that fork
            # would copy in an unknown state.
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_child,
                initargs=(self._settings,),
            )
            for _ in range(self.processes):
                self._pool.submit(time.sleep, 0)

    def parse(self, jobs: Sequence[Job], worker: str) -> Iterator[tuple[Job, Parsed | Exception]]:
        """Each job with its result or the exception it raised, in completion order."""
        if self._local is not None:
            for job in jobs:
                try:
                    yield job, self._local.parse(job, worker)
                except Exception as exc:  # handed to the worker, which records it on the job
                    yield job, exc
            return
        self.start()
        assert self._pool is not None
        futures: dict[Future[Parsed], Job] = {
            self._pool.submit(_parse_in_child, job, worker): job for job in jobs
        }
        broken = False
        for future in as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as exc:
                broken = broken or _is_broken_pool(exc)
                yield futures[future], exc
        if broken:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._local is not None:
            self._local.close()


def _is_broken_pool(exc: Exception) -> bool:
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(exc, BrokenProcessPool)
