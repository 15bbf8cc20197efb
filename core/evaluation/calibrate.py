"""Fitting a knowledge base's abstention threshold on its golden set: the answers abstain when
their evidence is below the threshold, so the threshold that best separates the questions
without an answer (evidence low) from those with one (evidence high) is the one of highest
abstention F1. Fitted on the evidence each row recorded, without asking again."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from core.errors import InvalidInput
from core.evaluation.report import Calibration, QuestionRow


def _scores(threshold: float, rows: Sequence[tuple[float, bool]]) -> tuple[float, float, float]:
    tp = sum(e < threshold and not answerable for e, answerable in rows)
    fp = sum(e < threshold and answerable for e, answerable in rows)
    fn = sum(e >= threshold and not answerable for e, answerable in rows)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return precision, recall, f1


def fit_threshold(rows: Sequence[QuestionRow]) -> Calibration:
    """The threshold of highest abstention F1, halfway between the evidence values it falls
    between (a margin either side); among equals, the lowest (fewer answers refused).
    InvalidInput unless the rows hold both kinds of question with their evidence."""
    scored = [(r.evidence, r.answerable) for r in rows if r.evidence is not None]
    if not scored or all(a for _, a in scored) or not any(a for _, a in scored):
        raise InvalidInput("calibration_needs_both")
    values = sorted({e for e, _ in scored})
    candidates = [
        values[0],
        *((a + b) / 2 for a, b in pairwise(values)),
        # Above every value: all abstain.
        min(values[-1] + 1e-6, 1.0),
    ]
    best = max(candidates, key=lambda t: (_scores(t, scored)[2], -t))
    precision, recall, f1 = _scores(best, scored)
    return Calibration(
        threshold=round(best, 6),
        precision=round(precision, 4),
        recall=round(recall, 4),
        f1=round(f1, 4),
        questions=len(scored),
    )
