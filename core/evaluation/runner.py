"""Running a golden set: each question asked through an `AskTurn` (in this process or over
HTTP), one at a time so that each one's latency is its own; a multi-turn entry's turns are asked
as one conversation, each with the turns before it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from core.evaluation.golden import GoldenItem
from core.evaluation.report import ConfigValue, EvaluationReport, QuestionRow
from core.evaluation.scoring import metrics, score_answer, worst

AskTurn = Callable[[str, Sequence[tuple[str, str]]], Awaitable[dict[str, Any]]]
"""Asks one question after the earlier (question, answer) turns of its conversation (none for
a question on its own) and returns the answer as the API's QueryResponse JSON (a chat turn's
ChatResponse), optionally with `evidence`: the score its abstention was decided on."""

Progress = Callable[[int, int], None]


async def evaluate(
    ask: AskTurn,
    items: Sequence[GoldenItem],
    *,
    top_k: int,
    progress: Progress | None = None,
    config: Mapping[str, ConfigValue] | None = None,
    golden: str = "",
) -> EvaluationReport:
    """The report of asking every question of `items`; `progress(done, total)` after each
    question (turns counted one by one). `config` describes the configuration, for the report;
    `top_k` is recorded with it."""
    started = time.time()
    total = sum(len(item.asked) for item in items)
    rows: list[QuestionRow] = []
    for index, item in enumerate(items):
        history: list[tuple[str, str]] = []
        for number, turn in enumerate(item.asked, start=1):
            question = turn.question or ""
            asked = time.perf_counter()
            response = await ask(question, tuple(history))
            total_ms = round((time.perf_counter() - asked) * 1000, 1)
            rows.append(
                score_answer(
                    turn, index, number if item.turns is not None else None, response, total_ms
                )
            )
            history.append((question, str(response["answer"])))
            if progress is not None:
                progress(len(rows), total)
    return EvaluationReport(
        config={**(config or {}), "top_k": top_k},
        golden=golden,
        created_at=round(started, 3),
        seconds=round(time.time() - started, 2),
        rows=rows,
        metrics=metrics(rows),
        worst=worst(rows),
    )
