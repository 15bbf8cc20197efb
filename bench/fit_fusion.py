"""Fit the fusion weights per question language for the configured embedding model: ingest a
SQuAD-format set, collect each question's dense and lexical candidates once, then pick the dense
weight (lexical fixed at 1) with the best mrr@10 (then hit@5). With `--across-en` / `--across-zh`
(translated questions, JSON lines of {id, question}, over the contexts of `--across-en-over` /
`--across-zh-over`), also the votes for chunks in the other language than the question's
(dense fixed at 1, the lexical vote fitted). Writes core/retrieval/fusion_weights.json.

    python -m bench.fit_fusion --zh ../shared/data/squad/cmrc2018_trial.json \\
        --en ../shared/data/squad/squad_v2_dev.json --en-max-docs 600 \\
        --across-en bench/data/crosslingual/tune_cmrc2018_dev_en.jsonl \\
        --across-en-over ../shared/data/squad/cmrc2018_dev.json \\
        --across-zh bench/data/crosslingual/tune_squad_v2_dev_zh.jsonl \\
        --across-zh-over ../shared/data/squad/squad_v2_dev.json

The translated tuning questions are not those `bench.retrieval --questions` measures with.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.retrieval import (
    candidate_rankings,
    fused_ranks,
    ingest_contexts,
    load_squad,
    load_translations,
    log,
    reopen_contexts,
)
from core.embedding import vector_family
from core.retrieval.fuse import WEIGHTS_FILE, FusionWeights, Votes
from core.retrieval.language import Language

GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)
ACROSS_LEXICAL = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)


def _score(ranks: list[int | None]) -> tuple[float, float]:
    mrr = sum(1 / r for r in ranks if r is not None) / len(ranks)
    hit5 = sum(1 for r in ranks if r is not None and r <= 5) / len(ranks)
    return mrr, hit5


def fit(
    path: Path,
    max_docs: int | None,
    max_q: int | None,
    across: Path | None = None,
    language: Language = "en",
    data_root: Path | None = None,
) -> tuple[str, dict[str, object]]:
    """Within-language weights on the set's own questions; with `across`, the votes for chunks
    in the other language, on those translated questions over the same contexts."""
    translations = None if across is None else load_translations(across)
    contexts, questions = load_squad(path, max_docs, max_q, translations)
    log(f"fitting on {path.name}: {len(contexts)} contexts, {len(questions)} questions")
    with tempfile.TemporaryDirectory(prefix="zhiku-fit-") as tmp:
        name = path.stem if max_docs is None else f"{path.stem}-{max_docs}"
        data_dir = (data_root or Path(tmp)) / name / "data"
        run = reopen_contexts(contexts, data_dir) or ingest_contexts(contexts, data_dir)
        candidates = candidate_rankings(run, questions)
        best: tuple[float, float, float] | None = None
        grid = ACROSS_LEXICAL if across else GRID
        for value in grid:
            weights = (
                FusionWeights(0.0, 0.0, across=Votes(1.0, value))
                if across
                else FusionWeights(value, 1.0)
            )
            mrr, hit5 = _score(
                fused_ranks(run, questions, candidates, weights, language if across else None)
            )
            log(
                f"  {'lexical' if across else 'dense'} {value:<4} mrr@10 {mrr:.3f} hit@5 {hit5:.3f}"
            )
            if best is None or (mrr, hit5) > (best[1], best[2]):
                best = (value, mrr, hit5)
        model = vector_family(run.collection.embedding_model)
        run.resources.close()
    assert best is not None
    figures = {
        "mrr@10": round(best[1], 3),
        "hit@5": round(best[2], 3),
        "questions": len(questions),
        "fitted_on": path.name if across is None else f"{across.name} over {path.name}",
    }
    if across:
        return model, {"dense": 1.0, "lexical": best[0], **figures}
    return model, {"dense": best[0], "lexical": 1.0, **figures}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fit fusion weights per language")
    parser.add_argument("--zh", type=Path, required=True)
    parser.add_argument("--en", type=Path, required=True)
    parser.add_argument("--zh-max-docs", type=int)
    parser.add_argument("--en-max-docs", type=int)
    parser.add_argument("--max-q", type=int, default=1000)
    parser.add_argument("--across-en", type=Path, help="English questions over Chinese contexts")
    parser.add_argument("--across-en-over", type=Path)
    parser.add_argument("--across-zh", type=Path, help="Chinese questions over English contexts")
    parser.add_argument("--across-zh-over", type=Path)
    parser.add_argument(
        "--data-root",
        type=Path,
        help="keep each ingested set under DIR/<file name>/data, and reuse it in later runs",
    )
    args = parser.parse_args(argv)
    fitted: dict[str, dict[str, dict[str, object]]] = json.loads(WEIGHTS_FILE.read_text())
    language: Language
    for language, path, max_docs, across, over in (
        ("zh", args.zh, args.zh_max_docs, args.across_zh, args.across_zh_over),
        ("en", args.en, args.en_max_docs, args.across_en, args.across_en_over),
    ):
        model, weights = fit(path, max_docs, args.max_q, data_root=args.data_root)
        if across is not None and over is not None:
            _, votes = fit(over, None, None, across, language, args.data_root)
            weights["across"] = votes
        fitted[model] = {**fitted.get(model, {}), language: weights}
        print(json.dumps({"model": model, "language": language, **weights}), flush=True)
    WEIGHTS_FILE.write_text(json.dumps(fitted, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
