"""Parsing a document (load, split, lexical tokens). It is CPU-bound pure Python, so it runs in
parser processes: ingestion uses every core, the service's own process stays responsive while
documents are parsed, and a document that exhausts memory or time, or crashes its parser, costs
one process (replaced at once), never the worker (ingest/parse_process.py)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait

from core.blobs import BlobStore
from core.catalog import LeaseLost, open_catalog
from core.catalog.records import Job
from core.embedding import Embedder, open_embedder
from core.errors import LoadError
from core.lexical_tokens import lexical_tokens
from core.settings import Settings
from core.types import ChunkDraft
from ingest.checkpoint import DiskCheckpoint, checkpoint_dir
from ingest.loaders import LOADERS
from ingest.loaders.protocol import ReadsPictures, ResumableLoader
from ingest.ocr.engine import open_ocr
from ingest.parse_process import ParseProcess, ParserCrashed, ParseStopped, too_slow
from ingest.split import Splitter

log = logging.getLogger("zhiku.parse")

_PROGRESS_EVERY_S = 0.5
# How often the pool looks at deadlines, cancels and stops while its processes parse.
_POLL_S = 0.25
# A parse running this long beside idle processes with nothing to parse lets them embed
# (Worker._more_while_parsing): longer than most documents take, so bulk ingestion keeps
# parsing everything first.
_LONG_PARSE_S = 5.0


@dataclass(frozen=True)
class Parsed:
    pages: int
    drafts: list[ChunkDraft]
    lexical: list[str]
    hashes: list[bytes]
    # Pages read by an earlier attempt, taken from the job's checkpoint instead of read again.
    resumed_pages: int = 0


def lexical_text(heading_path: Sequence[str], text: str) -> str:
    """What the lexical index sees of a chunk: its headings carry words its text may lack."""
    return " ".join(lexical_tokens("\n".join((*heading_path, text))))


def text_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class Parser:
    """What parsing needs in one process: the catalog (for page progress), the stored files
    and the tokenizer of each collection's model (the model itself is never loaded here)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._catalog = open_catalog(settings)
        self._blobs = BlobStore(settings.blob_path)
        self._checkpoints = checkpoint_dir(settings.blob_path)
        self._tokenizers: dict[str, Embedder] = {}
        # Its model loads at the first picture, under the document's memory cap.
        self._ocr = open_ocr(settings)
        # Tokenizers map their memory on first use: before any cap on memory, not under it.
        self._tokens(settings.embedding_model)

    def _tokens(self, model: str) -> Embedder:
        """A collection's chunks are cut in its own model's word pieces, so that they fit its
        window: a collection made with another model than this process's default included."""
        if model not in self._tokenizers:
            opened = open_embedder(self._settings.model_copy(update={"embedding_model": model}))
            opened.count_tokens(["知库 zhiku"])
            self._tokenizers[model] = opened
        return self._tokenizers[model]

    def close(self) -> None:
        """Its catalog holds connections of its own (a pool, on PostgreSQL)."""
        self._catalog.close()

    def parse(self, job: Job, worker: str, check: Callable[[], None] | None = None) -> Parsed:
        """Raises LoadError or UnsupportedMedia for bad bytes, LeaseLost when the job was taken
        away, and what `check` raises (called between pages); writes nothing but page progress
        and the job's checkpoint of pages read."""
        collection = self._catalog.collection_by_id(job.collection_id)
        document = self._catalog.get_document(job.collection_id, job.document_id)
        data = self._blobs.get(document.id)
        # The first report waits half a second: a short document reports nothing, and its
        # final count is written with its chunks.
        last = time.monotonic()

        def progress(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if check is not None:
                check()
            if now - last >= _PROGRESS_EVERY_S and done < total:
                last = now
                self._catalog.set_page_progress(job.id, worker, done, total)

        loader = LOADERS.create(document.media_type)
        if isinstance(loader, ReadsPictures):
            loader.use_ocr(self._ocr)
        checkpoint = DiskCheckpoint(self._checkpoints, job.id)
        if isinstance(loader, ResumableLoader):
            loaded = loader.load_resuming(data, progress, checkpoint)
        else:
            loaded = loader.load(data, progress)
        tokens = self._tokens(collection.embedding_model)
        splitter = Splitter(
            tokens.count_tokens,
            tokens.token_spans,
            collection.chunk_tokens,
            collection.chunk_overlap_tokens,
            tokens.max_tokens,
        )
        drafts = splitter.split(loaded)
        if not drafts:
            raise LoadError("document_empty")
        return Parsed(
            loaded.pages,
            drafts,
            [lexical_text(d.heading_path, d.text) for d in drafts],
            [text_hash(d.text) for d in drafts],
            checkpoint.resumed,
        )


class ParsePool:
    """Parser processes, one document at a time each, under the memory and time caps
    (ingest/parse_process.py). `processes` = 0 parses in the calling thread (tests, tiny
    machines), where no cap on memory can be set without risking the whole service: the time
    limit, a cancel and a stop are then checked between pages, and a document read in one
    piece (.docx, HTML) runs to its end."""

    def __init__(self, settings: Settings, processes: int) -> None:
        self._settings = settings
        self.processes = processes
        self._local = Parser(settings) if processes == 0 else None
        self._slots: list[ParseProcess] = []
        self._lock = threading.Lock()
        self._cancelled: set[str] = set()
        self._stopping = threading.Event()

    def start(self) -> None:
        """Start the processes now, so their start-up overlaps other work."""
        if self._local is None:
            with self._lock:
                while len(self._slots) < self.processes:
                    self._slots.append(ParseProcess(self._settings))

    def cancel(self, job_ids: Iterable[str]) -> None:
        """Stop these jobs' parses within a poll (a fraction of a second); each is reported
        as LeaseLost. Called from another thread."""
        with self._lock:
            self._cancelled.update(job_ids)

    def interrupt(self) -> None:
        """Stop every parse in hand (the worker is stopping); each is reported as
        ParseStopped, and its job can continue from its checkpoint elsewhere."""
        self._stopping.set()

    def parse(
        self,
        jobs: Sequence[Job],
        worker: str,
        more: Callable[[int, bool], Sequence[Job]] | None = None,
    ) -> Iterator[tuple[Job, Parsed | Exception]]:
        """Each job with its result or the exception that ends it, in completion order.
        While some processes have nothing left to parse, `more(idle processes, whether a
        parse has run long)` is asked at each poll for more jobs to parse now."""
        try:
            if self._local is not None:
                yield from self._parse_here(self._local, jobs, worker)
            else:
                yield from self._parse_in_processes(jobs, worker, more)
        finally:
            with self._lock:
                self._cancelled.clear()  # one parse at a time: these were all its jobs

    def _parse_here(
        self, parser: Parser, jobs: Sequence[Job], worker: str
    ) -> Iterator[tuple[Job, Parsed | Exception]]:
        timeout = self._settings.parse_timeout_seconds
        for job in jobs:
            deadline = time.monotonic() + timeout

            def check(job_id: str = job.id, deadline: float = deadline) -> None:
                if self._stopping.is_set():
                    raise ParseStopped()
                if job_id in self._cancelled:
                    raise LeaseLost(job_id)
                if time.monotonic() > deadline:
                    raise too_slow(timeout)

            try:
                check()
                yield job, parser.parse(job, worker, check)
            except Exception as exc:  # handed to the worker, which records it on the job
                yield job, exc

    def _parse_in_processes(
        self,
        jobs: Sequence[Job],
        worker: str,
        more: Callable[[int, bool], Sequence[Job]] | None,
    ) -> Iterator[tuple[Job, Parsed | Exception]]:
        self.start()
        timeout = self._settings.parse_timeout_seconds
        waiting = list(reversed(jobs))
        while waiting or any(slot.job is not None for slot in self._slots):
            for slot in self._slots:
                if slot.job is None and waiting and not self._stopping.is_set():
                    slot.send(waiting.pop(), worker, timeout)
            busy = [slot for slot in self._slots if slot.job is not None]
            idle = len(self._slots) - len(busy)
            if more is not None and idle and not waiting and not self._stopping.is_set():
                long = any(time.monotonic() - slot.sent_at > _LONG_PARSE_S for slot in busy)
                waiting = list(reversed(more(idle, long)))
                if waiting:
                    continue
            wait([s.conn for s in busy] + [s.process.sentinel for s in busy], _POLL_S)
            for slot in busy:
                job = slot.job
                assert job is not None
                reply = slot.receive()
                if reply is not None:
                    if reply.recycle:
                        self._replace(slot)
                    yield job, reply.outcome
                    continue
                if slot.job is None:
                    continue
                ended = self._ended(slot, job, timeout)
                if ended is not None:
                    self._replace(slot)
                    yield job, ended
            if self._stopping.is_set():
                while waiting:
                    yield waiting.pop(), ParseStopped()

    def _ended(self, slot: ParseProcess, job: Job, timeout: float) -> Exception | None:
        """Why a parse still running must end now, if it must."""
        if not slot.alive():
            return ParserCrashed(slot.exit_reason())
        if self._stopping.is_set():
            return ParseStopped()
        if job.id in self._cancelled:
            return LeaseLost(job.id)
        if time.monotonic() > slot.deadline:
            return too_slow(timeout)
        return None

    def _replace(self, slot: ParseProcess) -> None:
        """A fresh process in its place; none while stopping."""
        slot.kill()
        with self._lock:
            at = self._slots.index(slot)
            if self._stopping.is_set():
                del self._slots[at]
            else:
                self._slots[at] = ParseProcess(self._settings)

    def close(self) -> None:
        with self._lock:
            slots, self._slots = self._slots, []
        for slot in slots:
            slot.kill()
        if self._local is not None:
            self._local.close()
