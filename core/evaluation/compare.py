"""Two configurations over the same golden set: each metric's difference (other minus base)
with a paired bootstrap 95% confidence interval. Questions are resampled with replacement, the
same ones for both configurations, and the metric recomputed on each side; an interval that
does not hold 0 says the difference is not noise. Seeded: the same reports give the same
intervals."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from core.errors import InvalidInput
from core.evaluation.report import Difference, EvaluationReport, QuestionRow
from core.evaluation.scoring import ratio_terms

RESAMPLES = 2000
SEED = 20
_LEVEL = 0.95

Statistic = Callable[[npt.NDArray[np.intp]], npt.NDArray[np.float64]]


def _ratio_statistic(terms: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]) -> Statistic:
    numerator, denominator = terms

    def statistic(samples: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        num, den = numerator[samples].sum(axis=-1), denominator[samples].sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    return statistic


def _percentile_statistic(ms: npt.NDArray[np.float64], q: float) -> Statistic:
    def statistic(samples: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        return np.asarray(np.percentile(ms[samples], q, axis=-1), dtype=np.float64)

    return statistic


def _statistics(rows: list[QuestionRow]) -> dict[str, Statistic]:
    result = {name: _ratio_statistic(terms) for name, terms in ratio_terms(rows).items()}
    total = np.asarray([r.timings.get("total_ms", np.nan) for r in rows], dtype=np.float64)
    if not np.isnan(total).any():
        result["total_ms_p50"] = _percentile_statistic(total, 50)
        result["total_ms_p95"] = _percentile_statistic(total, 95)
    return result


def _value(x: float) -> float | None:
    return None if np.isnan(x) else round(float(x), 4)


def compare(
    base: EvaluationReport,
    other: EvaluationReport,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> list[Difference]:
    """Each metric of `other` against `base`, which must be the same questions in the same
    order (InvalidInput otherwise)."""
    if [r.question for r in base.rows] != [r.question for r in other.rows]:
        raise InvalidInput("evaluation_sets_differ")
    n = len(base.rows)
    samples = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    whole = np.arange(n)
    ours, theirs = _statistics(base.rows), _statistics(other.rows)
    tail = (1 - _LEVEL) / 2 * 100
    differences = []
    for name, statistic in ours.items():
        if name not in theirs:
            continue
        b, o = float(statistic(whole)), float(theirs[name](whole))
        spread = theirs[name](samples) - statistic(samples)
        spread = spread[~np.isnan(spread)]
        low, high = np.percentile(spread, [tail, 100 - tail]) if spread.size else (np.nan, np.nan)
        differences.append(
            Difference(
                metric=name,
                base=_value(b),
                other=_value(o),
                difference=_value(o - b),
                low=_value(float(low)),
                high=_value(float(high)),
            )
        )
    return differences
