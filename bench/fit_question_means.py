"""Fit the mean question vector per language for a model (core/retrieval/question_means.py):
the questions of SQuAD-format files that no benchmark asks, embedded as questions, averaged.
Chinese: CMRC 2018 trial (the benchmarks ask its dev set); English: SQuAD 2.0 dev's
unanswerable questions (the benchmarks ask only answerable ones). Writes
core/retrieval/question_means.json.

    ZHIKU_EMBEDDING_MODEL=multilingual-e5-small python -m bench.fit_question_means \\
        --zh ../shared/data/squad/cmrc2018_trial.json --en ../shared/data/squad/squad_v2_dev.json \\
        --weight 0.75
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from bench.retrieval import log
from core.embedding import open_embedder, vector_family
from core.retrieval.language import detect_language
from core.retrieval.question_means import MEANS_FILE
from core.settings import Settings


def unasked_questions(path: Path, limit: int) -> list[str]:
    """Unanswerable questions where the file has them (SQuAD 2.0), else every question."""
    articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    qas = [qa for a in articles for p in a["paragraphs"] for qa in p["qas"]]
    unanswerable = [qa for qa in qas if qa.get("is_impossible")]
    chosen = unanswerable or qas
    step = max(1, len(chosen) // limit)
    return [qa["question"] for qa in chosen[::step][:limit]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fit mean question vectors per language")
    parser.add_argument("--zh", type=Path, required=True)
    parser.add_argument("--en", type=Path, required=True)
    parser.add_argument("--max-q", type=int, default=2000)
    parser.add_argument("--weight", type=float, default=0.75, help="share of the mean taken away")
    args = parser.parse_args(argv)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    embedder = open_embedder(settings)
    fitted: dict[str, dict[str, dict[str, object]]] = (
        json.loads(MEANS_FILE.read_text()) if MEANS_FILE.exists() else {}
    )
    entry: dict[str, dict[str, object]] = {}
    for language, path in (("zh", args.zh), ("en", args.en)):
        questions = [
            q for q in unasked_questions(path, args.max_q) if detect_language(q) == language
        ]
        log(f"{language}: embedding {len(questions)} questions of {path.name}")
        vectors = np.stack([embedder.embed_query(q) for q in questions])
        entry[language] = {
            "weight": args.weight,
            "questions": len(questions),
            "fitted_on": path.name,
            "mean": [round(float(x), 6) for x in vectors.mean(axis=0)],
        }
    fitted[vector_family(embedder.model_id)] = entry
    # One line per vector, so that a refit reads as a diff of a few lines.
    text = re.sub(
        r"\[([^\[\]{}]*)\]",
        lambda m: "[" + re.sub(r"\s+", " ", m.group(1)).strip() + "]",
        json.dumps(fitted, indent=1),
    )
    MEANS_FILE.write_text(text + "\n")
    log(f"wrote {MEANS_FILE}")


if __name__ == "__main__":
    main()
