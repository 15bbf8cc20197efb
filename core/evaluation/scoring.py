"""Scoring answers against a golden set. Every metric but latency is a ratio of sums over the
questions (a mean is one, and so are precision, recall and F1: F1 = 2TP / (2TP + FP + FN)), so
one pair of per-question arrays states each, and a bootstrap resamples questions by summing
them again (compare.py)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from core.evaluation.golden import GoldenItem
from core.evaluation.report import Latency, Metrics, QuestionRow, Retrieved

WORST = 10
_TEXT_SHOWN = 300
_SPACE = re.compile(r"\s+")

Terms = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]


def normalized(text: str) -> str:
    """Compared without whitespace (PDF text breaks Chinese lines anywhere), case, or the
    difference between full- and half-width forms (NFKC)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _right_place(item: GoldenItem, filename: str, page: int | None) -> bool:
    return (item.filename is None or filename == item.filename) and (
        item.page is None or page == item.page
    )


def _holds(item: GoldenItem, text: str) -> bool:
    wanted = [normalized(w) for w in (item.answer, item.evidence) if w]
    held = normalized(text)
    return any(w and w in held for w in wanted)


def score_answer(
    item: GoldenItem, index: int, turn: int | None, response: dict[str, Any], total_ms: float
) -> QuestionRow:
    """One question's row, from the QueryResponse JSON its answer came as."""
    retrieved = [
        Retrieved(
            filename=c["filename"],
            page=c["page"],
            score=c["score"],
            text=c["text"][:_TEXT_SHOWN],
            hit=item.answerable
            and _right_place(item, c["filename"], c["page"])
            and _holds(item, c["text"]),
        )
        for c in response["chunks"]
    ]
    hit_rank = next((n for n, r in enumerate(retrieved, start=1) if r.hit), None)
    abstained = bool(response["abstained"])
    citations = response["citations"]
    contained = None
    if item.answer is not None:
        contained = not abstained and normalized(item.answer) in normalized(response["answer"])
    evidence = response.get("evidence")
    return QuestionRow(
        item=index,
        turn=turn,
        question=item.question or "",
        expected=item.answer,
        file=item.file,
        page=item.page,
        answer=response["answer"],
        abstained=abstained,
        evidence=float(evidence) if isinstance(evidence, int | float) else None,
        hit_rank=hit_rank,
        contained=contained,
        citations=len(citations),
        citations_right=sum(
            item.answerable and _right_place(item, c["filename"], c["page"]) for c in citations
        ),
        citations_verified=sum(bool(c["verified"]) for c in citations),
        timings={**response.get("timings", {}), "total_ms": total_ms},
        retrieved=retrieved,
    )


def _array(values: Sequence[float]) -> npt.NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64)


def ratio_terms(rows: Sequence[QuestionRow]) -> dict[str, Terms]:
    """Each metric's numerator and denominator per question; the metric over any multiset of
    questions is the sum of one over the sum of the other."""
    answerable = _array([r.answerable for r in rows])
    rank = [r.hit_rank or 0 for r in rows]
    abstained = _array([r.abstained for r in rows])
    tp = abstained * (1 - answerable)
    fp = abstained * answerable
    fn = (1 - abstained) * (1 - answerable)
    cited = [r.citations if r.answerable else 0 for r in rows]
    terms: dict[str, Terms] = {
        f"hit_at_{k}": (_array([0 < n <= k for n in rank]) * answerable, answerable)
        for k in (1, 3, 5)
    }
    terms["mrr_at_10"] = (
        _array([1 / n if 0 < n <= 10 else 0 for n in rank]) * answerable,
        answerable,
    )
    terms["citation_accuracy"] = (
        _array([r.citations_right if r.answerable else 0 for r in rows]),
        _array(cited),
    )
    terms["citations_verified"] = (
        _array([r.citations_verified for r in rows]),
        _array([r.citations for r in rows]),
    )
    terms["answer_containment"] = (_array([bool(r.contained) for r in rows]), answerable)
    terms["abstention_precision"] = (tp, tp + fp)
    terms["abstention_recall"] = (tp, tp + fn)
    terms["abstention_f1"] = (2 * tp, 2 * tp + fp + fn)
    return terms


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def latencies(rows: Sequence[QuestionRow]) -> dict[str, Latency]:
    """p50 and p95 of each stage's milliseconds, over the questions that went through it."""
    stages = sorted({s for r in rows for s in r.timings})
    result = {}
    for stage in stages:
        ms = _array([r.timings[stage] for r in rows if stage in r.timings])
        p50, p95 = np.percentile(ms, [50, 95])
        result[stage] = Latency(p50_ms=round(float(p50), 1), p95_ms=round(float(p95), 1))
    return result


def metrics(rows: Sequence[QuestionRow]) -> Metrics:
    ratios = {
        name: _ratio(float(num.sum()), float(den.sum()))
        for name, (num, den) in ratio_terms(rows).items()
    }
    answerable = sum(r.answerable for r in rows)
    return Metrics(
        questions=len(rows),
        answerable=answerable,
        unanswerable=len(rows) - answerable,
        latency=latencies(rows),
        **ratios,
    )


def row_score(row: QuestionRow) -> float:
    """How well one question went, from 0 to 1: an unanswerable one, whether it was refused;
    an answerable one, the mean of its answer holding the gold answer, a retrieved hit in the
    top 5, and its citations' share of the right place."""
    if not row.answerable:
        return float(row.abstained)
    parts = [float(bool(row.contained)), float(row.hit_rank is not None and row.hit_rank <= 5)]
    if row.citations:
        parts.append(row.citations_right / row.citations)
    return sum(parts) / len(parts)


def worst(rows: Sequence[QuestionRow], count: int = WORST) -> list[int]:
    """The indexes of the worst questions (those that did not go perfectly), worst first, in
    the set's order among equals."""
    scored = sorted((row_score(r), i) for i, r in enumerate(rows))
    return [i for score, i in scored if score < 1][:count]
