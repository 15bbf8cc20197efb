"""A question's vector less (a share of) the mean vector of many questions in its language,
before the dense search. A multilingual model puts the texts of one language near each other
(the language is part of each vector) and a question near every question-like passage; taking
the mean away leaves more of what the question is about, so an English question finds the
Chinese passage that answers it. Dense hit@5 over every context of each set (issue 18):
English questions over CMRC 2018 0.564 → 0.636, Chinese over SQuAD 2.0 0.655 → 0.750; in their
own language 0.968 → 0.966 and 0.942 → 0.935 (the fused rankings: 0.992 and 0.955 either way).
The means are fitted per model by `python -m bench.fit_question_means`, with the share taken
away (0.75: best on the translated tuning questions of bench/data/crosslingual), and kept in
question_means.json; a model without them (MiniLM) searches with its vectors as they are."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from core.embedding import vector_family
from core.retrieval.language import Language

MEANS_FILE = Path(__file__).with_name("question_means.json")


@cache
def _fitted() -> dict[str, dict[str, np.ndarray]]:
    if not MEANS_FILE.exists():
        return {}
    loaded = json.loads(MEANS_FILE.read_text())
    return {
        model: {
            language: np.asarray(fit["mean"], dtype=np.float32) * float(fit["weight"])
            for language, fit in by_language.items()
        }
        for model, by_language in loaded.items()
    }


def centred(model: str, language: Language, vector: np.ndarray) -> np.ndarray:
    """The question's unit vector with its language's weighted mean taken away, as a unit
    vector again; the vector itself for a model or language never fitted."""
    mean = _fitted().get(vector_family(model), {}).get(language)
    if mean is None:
        return vector
    moved = vector - mean
    norm = float(np.linalg.norm(moved))
    return vector if norm == 0 else (moved / norm).astype(np.float32)
