"""Fit the fusion weights per language for the default embedding model: ingest a SQuAD-format
set, collect each question's dense and lexical candidates once, then pick the dense weight
(lexical fixed at 1) with the best mrr@10. Writes core/retrieval/fusion_weights.json.

    python -m bench.fit_fusion --zh ../shared/data/squad/cmrc2018_trial.json \
        --en ../shared/data/squad/squad_v2_dev.json --en-max-docs 600
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.retrieval import candidate_rankings, fused_ranks, ingest_contexts, load_squad, log
from core.retrieval.fuse import WEIGHTS_FILE, FusionWeights

GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)


def fit(path: Path, max_docs: int | None, max_q: int | None) -> tuple[str, dict[str, float]]:
    contexts, questions = load_squad(path, max_docs, max_q)
    log(f"fitting on {path.name}: {len(contexts)} contexts, {len(questions)} questions")
    with tempfile.TemporaryDirectory(prefix="zhiku-fit-") as tmp:
        run = ingest_contexts(contexts, Path(tmp) / "data")
        candidates = candidate_rankings(run, questions)
        best: tuple[float, float, float] | None = None
        for dense in GRID:
            ranks = fused_ranks(run, questions, candidates, FusionWeights(dense, 1.0))
            mrr = sum(1 / r for r in ranks if r is not None) / len(ranks)
            hit5 = sum(1 for r in ranks if r is not None and r <= 5) / len(ranks)
            log(f"  dense {dense:<4} mrr@10 {mrr:.3f} hit@5 {hit5:.3f}")
            if best is None or (mrr, hit5) > (best[1], best[2]):
                best = (dense, mrr, hit5)
        model = run.collection.embedding_model
        run.resources.close()
    assert best is not None
    return model, {
        "dense": best[0],
        "lexical": 1.0,
        "mrr@10": round(best[1], 3),
        "hit@5": round(best[2], 3),
        "questions": len(questions),
        "fitted_on": path.name,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fit fusion weights per language")
    parser.add_argument("--zh", type=Path, required=True)
    parser.add_argument("--en", type=Path, required=True)
    parser.add_argument("--zh-max-docs", type=int)
    parser.add_argument("--en-max-docs", type=int)
    parser.add_argument("--max-q", type=int, default=1000)
    args = parser.parse_args(argv)
    fitted: dict[str, dict[str, dict[str, object]]] = json.loads(WEIGHTS_FILE.read_text())
    for language, path, max_docs in (
        ("zh", args.zh, args.zh_max_docs),
        ("en", args.en, args.en_max_docs),
    ):
        model, weights = fit(path, max_docs, args.max_q)
        fitted.setdefault(model, {})[language] = weights
        print(json.dumps({"model": model, "language": language, **weights}), flush=True)
    WEIGHTS_FILE.write_text(json.dumps(fitted, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
