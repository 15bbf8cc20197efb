"""Fit the abstention threshold per language: questions whose answer is absent must abstain,
answerable ones must not. Absent answers come from SQuAD 2.0's `is_impossible` questions and
from questions whose context was left out of the collection; answerable ones are the rest.
Writes core/answer/abstention.json and prints the rates.

    python -m bench.fit_abstention --zh ../shared/data/squad/cmrc2018_trial.json \
        --en ../shared/data/squad/squad_v2_dev.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.retrieval import ingest_contexts, log
from core.answer.abstain import THRESHOLDS_FILE
from core.answer.prompt import DEFAULT_SYSTEM
from core.answer.service import AnswerService
from core.llm.extractive import ExtractiveLLM
from core.retrieval.retrieve import HybridRetriever
from core.retrieval.search import Searcher

GRID = [round(0.05 * i, 2) for i in range(1, 20)]


def labelled(path: Path, max_docs: int, per_class: int) -> tuple[list[str], list[tuple[str, bool]]]:
    """Contexts to ingest (every other one), and (question, answerable) pairs."""
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs = [p for a in data["data"] for p in a["paragraphs"]][: 2 * max_docs]
    kept = paragraphs[::2]
    left_out = paragraphs[1::2]
    answerable = [
        q["question"]
        for p in kept
        for q in p["qas"]
        if q.get("answers") and not q.get("is_impossible")
    ]
    absent = [q["question"] for p in kept for q in p["qas"] if q.get("is_impossible")]
    absent += [q["question"] for p in left_out for q in p["qas"] if not q.get("is_impossible")]

    def spread(items: list[str]) -> list[str]:
        step = max(1, len(items) // per_class)
        return items[::step][:per_class]

    pairs = [(q, True) for q in spread(answerable)] + [(q, False) for q in spread(absent)]
    return [p["context"] for p in kept], pairs


def fit(path: Path, max_docs: int, per_class: int) -> dict[str, float | int | str]:
    contexts, pairs = labelled(path, max_docs, per_class)
    log(f"{path.name}: {len(contexts)} contexts, {len(pairs)} questions")
    with tempfile.TemporaryDirectory(prefix="zhiku-abstain-") as tmp:
        run = ingest_contexts(contexts, Path(tmp) / "data")
        retriever = HybridRetriever(
            Searcher(run.resources.catalog, run.resources.store, run.resources.embedder)
        )
        service = AnswerService(
            run.resources.catalog, retriever, ExtractiveLLM(run.resources.settings), DEFAULT_SYSTEM
        )
        scored = [(service.prepare(run.collection, q, 5).evidence, ok) for q, ok in pairs]
        retriever.close()
        run.resources.close()
    best: tuple[float, float, float, float] | None = None
    for threshold in GRID:
        answered = sum(1 for e, ok in scored if ok and e >= threshold) / max(
            1, sum(ok for _, ok in scored)
        )
        abstained = sum(1 for e, ok in scored if not ok and e < threshold) / max(
            1, sum(not ok for _, ok in scored)
        )
        balanced = (answered + abstained) / 2
        log(
            f"  threshold {threshold:.2f}: answers {answered:.3f} of answerable,"
            f" abstains {abstained:.3f} of absent"
        )
        if best is None or balanced > best[1]:
            best = (threshold, balanced, answered, abstained)
    assert best is not None
    return {
        "threshold": best[0],
        "balanced_accuracy": round(best[1], 3),
        "answerable_answered": round(best[2], 3),
        "absent_abstained": round(best[3], 3),
        "questions": len(scored),
        "fitted_on": path.name,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fit the abstention threshold per language")
    parser.add_argument("--zh", type=Path, required=True)
    parser.add_argument("--en", type=Path, required=True)
    parser.add_argument("--max-docs", type=int, default=200)
    parser.add_argument("--per-class", type=int, default=300)
    args = parser.parse_args(argv)
    fitted = {}
    for language, path in (("zh", args.zh), ("en", args.en)):
        fitted[language] = fit(path, args.max_docs, args.per_class)
        print(json.dumps({"language": language, **fitted[language]}), flush=True)
    THRESHOLDS_FILE.write_text(json.dumps(fitted, indent=2) + "\n")


if __name__ == "__main__":
    main()
