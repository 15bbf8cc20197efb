"""Scale benchmark: one collection grown to each size through the real storage code (catalog
jobs, store_parsed, the embed pipeline publishing to the vector store), then hybrid retrieval
timed per query, 1,000 more chunks added, and peak memory. Prints one JSON line per (mode,
size), then a markdown table.

    python -m bench.scale --chunks 10000,100000,1000000 [--modes embedded,servers]
        [--vector-store chroma|milvus] [--queries 200] [--keep]

The embedded mode keeps the vectors in the store --vector-store names (embedded Chroma, or
Milvus through milvus-lite); the servers mode in a `chroma run` server.

Chunk texts are real: contexts of CMRC 2018 and SQuAD 2.0 cut by the real splitter, each cut
in two halves that are tokenised once and recombined (head of one, tail of another of the
same language) to reach any size. The model is left out: vectors (stored chunks and queries)
are random unit vectors; the lexical side of a query uses the real tokenizer.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np
import psycopg

from bench.chroma_server import ChromaDidNotStart, running_chroma
from core.catalog.records import Collection, JobStage, NewDocument
from core.catalog.sql import SqlCatalog
from core.embedding import Embedder
from core.embedding.e5_runtime import E5Embedder
from core.lexical_tokens import lexical_tokens
from core.resources import Resources
from core.retrieval.retrieve import HybridRetriever
from core.retrieval.search import Searcher
from core.settings import Settings
from core.stores import VECTOR_STORES
from core.types import ChunkDraft, LoadedDocument, Section
from ingest.operations import Operations
from ingest.parse import Parsed, text_hash
from ingest.pipeline import Pipeline
from ingest.split import Splitter

# ../shared/data beside the checkout, or SHARED_DATA_DIR (as for the tests).
DATA = (
    Path(os.environ.get("SHARED_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    / "squad"
)
SOURCES = {"zh": ("cmrc2018_dev.json", "cmrc2018_trial.json"), "en": ("squad_v2_dev.json",)}
QUESTION_SOURCES = {"zh": "cmrc2018_dev.json", "en": "squad_v2_dev.json"}
PG_HOSTPORT, PG_DATABASE, PG_USERS = "127.0.0.1:5432", "test", ("postgres", "root")

DOC_CHUNKS = 20  # chunks per document
FILL_DOCS = 250  # documents recorded per add_documents call while filling
ADDED = 1000  # chunks of the timed addition
TOP_K = 5  # the API's default
CANDIDATES = 20  # what HybridRetriever asks each retriever for at TOP_K
WARM_UP = 5  # queries run before timing, not counted
WORKER = "bench-scale"
SEED = 6

KEYS = (
    "mode",
    "vector_store",
    "chunks",
    "documents",
    "queries",
    "hybrid_p50_ms",
    "hybrid_p95_ms",
    "dense_p50_ms",
    "dense_p95_ms",
    "lexical_p50_ms",
    "lexical_p95_ms",
    "add_1000_s",
    "fill_chunks_per_s",
    "rss_mb",
    "chroma_rss_mb",
    "load_avg",
)


def log(message: str) -> None:
    print(f"bench.scale: {message}", file=sys.stderr, flush=True)


# samples ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Half:
    text: str
    lexical: str
    tokens: int


@dataclass(frozen=True)
class Sample:
    """A chunk of a real context, cut near its middle so it can mix with others."""

    head: Half
    tail: Half


_CUT = re.compile(r"[\s。！？；，、.!?;,]")


def _cut(text: str) -> int:
    middle = len(text) // 2
    for distance in range(middle):
        for at in (middle + distance, middle - distance):
            if 0 < at < len(text) and _CUT.match(text[at - 1]):
                return at
    return middle


def _contexts(name: str) -> list[str]:
    data = json.loads((DATA / name).read_text(encoding="utf-8"))
    return [p["context"] for article in data["data"] for p in article["paragraphs"]]


def load_samples(embedder: Embedder, settings: Settings) -> dict[str, list[Sample]]:
    """Every context split by the real splitter, each half tokenised once."""
    splitter = Splitter(
        embedder.count_tokens,
        embedder.token_spans,
        settings.chunk_tokens,
        settings.chunk_overlap_tokens,
        embedder.max_tokens,
    )
    samples: dict[str, list[Sample]] = {}
    for language, names in SOURCES.items():
        texts = [
            draft.text
            for name in names
            for context in _contexts(name)
            for draft in splitter.split(LoadedDocument("text/plain", 1, [Section(context)]))
        ]
        halves = [(t[: _cut(t)], t[_cut(t) :]) for t in texts]
        flat = [h for pair in halves for h in pair]
        counts = embedder.count_tokens(flat)
        made = [
            Half(text, " ".join(lexical_tokens(text)), count)
            for text, count in zip(flat, counts, strict=True)
        ]
        samples[language] = [Sample(made[i], made[i + 1]) for i in range(0, len(made), 2)]
    return samples


def load_questions(count: int) -> list[str]:
    """`count` real questions, half Chinese and half English, spread over each set."""
    questions: list[str] = []
    for index, name in enumerate(QUESTION_SOURCES.values()):
        data = json.loads((DATA / name).read_text(encoding="utf-8"))
        asked = [qa["question"] for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]]
        wanted = count // 2 + (count % 2 if index == 0 else 0)
        step = len(asked) / max(wanted, 1)
        questions.extend(asked[int(i * step)] for i in range(wanted))
    return questions


class Corpus:
    """Documents of DOC_CHUNKS chunks, the same for a given index in every run."""

    def __init__(self, samples: dict[str, list[Sample]]) -> None:
        self._samples = samples
        total = sum(len(s) for s in samples.values())
        self._languages = list(samples)
        self._weights = [len(samples[lang]) / total for lang in self._languages]

    def document(self, collection_id: str, index: int) -> tuple[NewDocument, Parsed]:
        rng = np.random.default_rng([SEED, index])
        language = self._languages[int(rng.choice(len(self._languages), p=self._weights))]
        pool = self._samples[language]
        drafts: list[ChunkDraft] = []
        lexical: list[str] = []
        offset = 0
        for seq in range(DOC_CHUNKS):
            head = pool[int(rng.integers(len(pool)))].head
            tail = pool[int(rng.integers(len(pool)))].tail
            text = head.text + tail.text
            tokens = head.tokens + tail.tokens
            drafts.append(ChunkDraft(seq, text, None, (), offset, offset + len(text), tokens))
            lexical.append(f"{head.lexical} {tail.lexical}".strip())
            offset += len(text)
        size = sum(len(d.text.encode("utf-8")) for d in drafts)
        document_id = hashlib.sha256(f"zhiku-bench-scale-{index}".encode()).hexdigest()
        parsed = Parsed(1, drafts, lexical, [text_hash(d.text) for d in drafts])
        new = NewDocument(collection_id, document_id, f"scale-{index:07d}.txt", "text/plain", size)
        return new, parsed


# the model left out ----------------------------------------------------------------------

DIMENSION = 384  # the default model's (multilingual-e5-small)


class RandomEmbedder(E5Embedder):
    """Random unit vectors in place of the model: its time is left out of the benchmark."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._rng = np.random.default_rng(SEED)

    @property
    def dimension(self) -> int:
        return DIMENSION

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self._rng.standard_normal((len(texts), DIMENSION)).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / norms, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed([text])[0]
        return vector

    def load(self) -> Any:
        raise RuntimeError("the scale benchmark never loads the model")


# filling ---------------------------------------------------------------------------------


class Filler:
    """Adds documents the way the worker does, with parsing replaced by the corpus."""

    def __init__(self, resources: Resources, corpus: Corpus) -> None:
        self._resources = resources
        self._catalog = resources.catalog
        self._corpus = corpus
        self._pipeline = Pipeline(resources)
        self.collection = Operations(resources).open_collection("scale")
        # A kept run's documents are the first ones of the corpus.
        self.documents = resources.catalog.get_collection("scale").documents
        # A kept run stopped in the middle of an addition left jobs running under this
        # benchmark's name, and no other worker shares its catalog: they are taken again at
        # once (the base class's rule; PostgreSQL's catalog leaves them to their lease)...
        SqlCatalog.release_running_jobs(cast(SqlCatalog, resources.catalog))
        # and finished before anything is measured.
        self.add(0)

    def add(self, count: int) -> None:
        """Add `count` documents: recorded with their jobs, stored (searchable), embedded and
        published (ready)."""
        s = self._resources.settings
        made = [self._corpus.document(self.collection.id, self.documents + i) for i in range(count)]
        self._catalog.add_documents([new for new, _ in made])
        parsed = {new.document_id: p for new, p in made}
        while jobs := self._catalog.claim_jobs(
            JobStage.PARSE, WORKER, s.job_lease_seconds, s.job_max_attempts, max_jobs=256
        ):
            for job in jobs:
                found = parsed.get(job.document_id) or self._remade(job.document_id)
                self._pipeline.store(job, WORKER, found)
        while jobs := self._catalog.claim_jobs(
            JobStage.EMBED,
            WORKER,
            s.job_lease_seconds,
            s.job_max_attempts,
            max_chunks=s.embed_slice_chunks,
        ):
            self._pipeline.embed(jobs, WORKER)
        self.documents += count

    def _remade(self, document_id: str) -> Parsed:
        """A document a stopped run recorded but did not store: the same index of the corpus
        gives the same document."""
        name = self._catalog.get_document(self.collection.id, document_id).filename
        index = int(name.removeprefix("scale-").removesuffix(".txt"))
        return self._corpus.document(self.collection.id, index)[1]

    def fill_to(self, chunks: int) -> float:
        """Grow the collection to `chunks` chunks; returns chunks added per second."""
        target = -(-chunks // DOC_CHUNKS)
        start, began, last = self.documents, time.monotonic(), time.monotonic()
        while self.documents < target:
            self.add(min(FILL_DOCS, target - self.documents))
            if time.monotonic() - last > 30:
                last = time.monotonic()
                rate = (self.documents - start) * DOC_CHUNKS / (last - began)
                log(
                    f"{self.documents * DOC_CHUNKS} chunks, {rate:.0f} chunks/s,"
                    f" load {os.getloadavg()[0]:.1f}"
                )
        took = time.monotonic() - began
        return (self.documents - start) * DOC_CHUNKS / took if took > 0 else 0.0


# measuring -------------------------------------------------------------------------------


def percentiles(ms: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(ms)
    return (
        round(statistics.median(ordered), 1),
        round(ordered[int(0.95 * (len(ordered) - 1))], 1),
    )


def timed(ask: Callable[[str], object], questions: Sequence[str]) -> list[float]:
    ms: list[float] = []
    for question in questions:
        started = time.perf_counter()
        ask(question)
        ms.append((time.perf_counter() - started) * 1000)
    return ms


SYSTEMS = ("hybrid", "dense", "lexical")


def measure_queries(
    resources: Resources,
    embedder: RandomEmbedder,
    collection: Collection,
    questions: Sequence[str],
) -> dict[str, float]:
    """Each system asks questions of its own (every third one, so each gets the same mix of
    languages): asked the same questions one after another, the later systems found the
    server's caches warmed by the first for exactly those questions."""
    searcher = Searcher(resources.catalog, resources.store, embedder)
    retriever = HybridRetriever(searcher)
    try:
        for question in questions[:WARM_UP]:
            retriever.retrieve(collection, question, TOP_K)
        asked = questions[WARM_UP:]
        found: dict[str, float] = {}
        asks: dict[str, Callable[[str], object]] = {
            "hybrid": lambda q: retriever.retrieve(collection, q, TOP_K),
            "dense": lambda q: searcher.dense(collection, q, CANDIDATES),
            "lexical": lambda q: searcher.lexical(collection, q, CANDIDATES),
        }
        for index, name in enumerate(SYSTEMS):
            p50, p95 = percentiles(timed(asks[name], asked[index :: len(SYSTEMS)]))
            found[f"{name}_p50_ms"], found[f"{name}_p95_ms"] = p50, p95
        return found
    finally:
        retriever.close()


def peak_rss_mb(pid: int | None = None) -> float | None:
    """Peak resident memory of this process, or of another one (VmHWM) while it runs."""
    if pid is None:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return round(int(found.group(1)) / 1024, 0) if found else None


# modes -----------------------------------------------------------------------------------


@contextmanager
def chroma_server(folder: Path) -> Iterator[tuple[str, int]]:
    """A `chroma run` server on a free loopback port: (URL, process id)."""
    with ExitStack() as stack:
        try:
            started = stack.enter_context(
                running_chroma(folder / "chroma-server", folder / "chroma-server.log")
            )
        except ChromaDidNotStart as exc:
            raise SystemExit(str(exc)) from exc
        yield started


@contextmanager
def postgres_schema(work: Path, keep: bool) -> Iterator[str]:
    """ZHIKU_DATABASE_URL for a schema of its own in database `test` (the one named in
    `work`, from a kept run, or a new one), dropped afterwards unless kept."""
    named = work / "postgres-schema"
    schema = named.read_text().strip() if named.exists() else f"bench_scale_{uuid.uuid4().hex[:12]}"
    errors: list[str] = []
    for user in PG_USERS:
        server = f"postgresql://{user}@{PG_HOSTPORT}/{PG_DATABASE}"
        try:
            with psycopg.connect(server, connect_timeout=3, autocommit=True) as admin:
                admin.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            break
        except psycopg.Error as exc:
            errors.append(f"{user}: {str(exc).strip()}")
    else:
        raise SystemExit(f"no PostgreSQL at {PG_HOSTPORT}/{PG_DATABASE}: {'; '.join(errors)}")
    named.write_text(schema)
    try:
        yield f"{server}?options=-csearch_path%3D{schema}"
    finally:
        if keep:
            log(f"kept PostgreSQL schema {schema}")
        else:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")


def vacuum(database_url: str) -> None:
    """What autovacuum does after a bulk load (this machine's server runs without it): drop
    the row versions that storing vectors left behind, and give the planner statistics."""
    with psycopg.connect(database_url, autocommit=True) as db:
        for table in ("chunks", "lexical_entries", "lexical_terms", "documents", "jobs"):
            db.execute(f"VACUUM ANALYZE {table}")


@contextmanager
def mode_settings(
    mode: str, vector_store: str, work: Path, keep: bool
) -> Iterator[tuple[Settings, int | None]]:
    """Settings of the mode, and the Chroma server's process id in the servers mode."""
    data_dir = work / "data"
    if mode == "embedded":
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=data_dir,
            vector_store=vector_store,
        )
        yield settings, None
        return
    with postgres_schema(work, keep) as database_url, chroma_server(work) as (chroma_url, pid):
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=data_dir,
            database_url=database_url,
            chroma_url=chroma_url,
        )
        yield settings, pid


def run_mode(
    mode: str,
    vector_store: str,
    sizes: Sequence[int],
    queries: int,
    keep: bool,
    work: Path | None,
) -> Iterator[dict[str, Any]]:
    """`work` holds the data (a kept run's data is grown further); a new temporary folder
    when None."""
    # Chroma's folder keeps the name it had before the vector store could be chosen.
    label = mode if vector_store == "chroma" else f"{mode}-{vector_store}"
    if work is None:
        work = Path(tempfile.mkdtemp(prefix=f"zhiku-scale-{label}-"))
    else:
        work = work / label
        work.mkdir(parents=True, exist_ok=True)
    try:
        with mode_settings(mode, vector_store, work, keep) as (settings, chroma_pid):
            embedder = RandomEmbedder(settings)
            started = time.monotonic()
            corpus = Corpus(load_samples(embedder, settings))
            questions = load_questions(queries * len(SYSTEMS) + WARM_UP)
            log(f"{mode}: samples and questions ready in {time.monotonic() - started:.0f} s")
            # The random embedder stands in for the model everywhere the model is used.
            resources = Resources(settings, embedder)
            try:
                filler = Filler(resources, corpus)
                for size in sorted(sizes):
                    load_before = os.getloadavg()[0]
                    rate = filler.fill_to(size)
                    if settings.database_url:
                        vacuum(settings.database_url)
                    collection = resources.catalog.get_collection("scale")
                    result: dict[str, Any] = {
                        "mode": mode,
                        "vector_store": settings.vector_store,
                        "chunks": collection.chunks,
                        "documents": filler.documents,
                        "queries": queries,
                    }
                    result.update(measure_queries(resources, embedder, collection, questions))
                    began = time.monotonic()
                    filler.add(ADDED // DOC_CHUNKS)
                    result["add_1000_s"] = round(time.monotonic() - began, 2)
                    result["fill_chunks_per_s"] = round(rate)
                    result["rss_mb"] = peak_rss_mb()
                    result["chroma_rss_mb"] = peak_rss_mb(chroma_pid) if chroma_pid else None
                    result["load_avg"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
                    yield result
            finally:
                resources.close()
    finally:
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


# output ----------------------------------------------------------------------------------


def table(results: Sequence[dict[str, Any]]) -> str:
    head = "| " + " | ".join(KEYS) + " |"
    rule = "|" + "---|" * len(KEYS)
    rows = ["| " + " | ".join(str(r.get(k)) for k in KEYS) + " |" for r in results]
    return "\n".join([head, rule, *rows])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", default="10000,100000,1000000")
    parser.add_argument("--modes", default="embedded,servers")
    parser.add_argument(
        "--vector-store",
        default="chroma",
        choices=VECTOR_STORES.keys(),
        help="the embedded mode's vector store (the servers mode runs a Chroma server)",
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the data and the schema")
    parser.add_argument(
        "--work", type=Path, help="folder for the data: a kept run's data there is grown further"
    )
    parser.add_argument("--lines-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # Stopped from outside, it still stops its Chroma server and drops its schema.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [int(s) for s in args.chunks.split(",") if s.strip()]
    modes = [m for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - {"embedded", "servers"}
    if unknown or not modes or not sizes or args.queries < 1:
        parser.error("--modes takes embedded and/or servers; --chunks and --queries positive")
    if "servers" in modes and args.vector_store != "chroma":
        parser.error("the servers mode runs a Chroma server: --vector-store takes --modes embedded")
    results: list[dict[str, Any]] = []
    if len(modes) == 1:
        runs = run_mode(modes[0], args.vector_store, sizes, args.queries, args.keep, args.work)
        for result in runs:
            print(json.dumps(result), flush=True)
            results.append(result)
    else:
        # One process per mode, so that each one's peak memory is its own.
        for mode in modes:
            command = [sys.executable, "-m", "bench.scale", "--modes", mode, "--lines-only"]
            command += ["--chunks", args.chunks, "--queries", str(args.queries)]
            command += ["--vector-store", args.vector_store]
            command += ["--keep"] if args.keep else []
            command += ["--work", str(args.work)] if args.work else []
            child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            assert child.stdout is not None
            for line in child.stdout:
                print(line, end="", flush=True)
                results.append(json.loads(line))
            if child.wait() != 0:
                raise SystemExit(f"bench.scale --modes {mode} failed (exit {child.returncode})")
    if not args.lines_only:
        print(table(results), flush=True)


if __name__ == "__main__":
    main()
