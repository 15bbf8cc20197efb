"""Whether the retrieved passages hold an answer at all: the best sentence's share of the
question's words, against a threshold per language fitted by `python -m bench.fit_abstention`
(questions known to be unanswerable must abstain, answerable ones must not)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from core.retrieval.language import Language

THRESHOLDS_FILE = Path(__file__).with_name("abstention.json")
_UNFITTED = 0.3
# The key of a knowledge base's own threshold in its stored settings.
ABSTAIN_THRESHOLD = "abstain_threshold"


@cache
def _fitted() -> dict[str, dict[str, Any]]:
    if not THRESHOLDS_FILE.exists():
        return {}
    loaded: dict[str, dict[str, Any]] = json.loads(THRESHOLDS_FILE.read_text())
    return loaded


def threshold(language: Language) -> float:
    return float(_fitted().get(language, {}).get("threshold", _UNFITTED))


def should_abstain(evidence: float, language: Language, fitted: object = None) -> bool:
    """`fitted`: a knowledge base's own threshold (`zhiku eval --calibrate` fits it on its
    golden set), in place of the language's; anything but a number is none."""
    if isinstance(fitted, int | float) and not isinstance(fitted, bool):
        return evidence < fitted
    return evidence < threshold(language)


def should_abstain_across(similarity: float | None, language: Language) -> bool:
    """For a best passage in the other language than the question's, whose words the question
    cannot share: the dense side's cosine against a threshold fitted per question language
    (answerable translated questions against questions of the other set, whose answers the
    collection does not hold); without a dense score, abstain."""
    fitted = _fitted().get(language, {}).get("across")
    if similarity is None or not isinstance(fitted, dict):
        return True
    return similarity < float(fitted["threshold"])
