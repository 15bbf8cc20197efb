"""An evaluation report as terminal tables: the metrics (beside the other configuration's, with
each difference and its 95% interval, when one was compared), latency per stage, the calibrated
threshold, and the worst questions with what was retrieved for them."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from core.evaluation.labels import LABELS, RATIOS
from core.evaluation.report import EvaluationReport


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _metrics_table(report: EvaluationReport) -> Table:
    m = report.metrics
    table = Table(
        title=f"{report.golden}: {m.questions} questions ({m.answerable} answerable,"
        f" {m.unanswerable} without an answer), top_k {report.config.get('top_k')}"
    )
    table.add_column("metric")
    table.add_column(str(report.config.get("label", "value")), justify="right")
    comparison = report.comparison
    if comparison is None:
        for name in RATIOS:
            table.add_row(LABELS[name], _number(getattr(m, name)))
        return table
    table.add_column(str(comparison.other.config.get("label", "other")), justify="right")
    table.add_column("difference", justify="right")
    table.add_column("95% interval", justify="right")
    table.add_column("")
    for d in comparison.differences:
        interval = "-" if d.low is None else f"[{d.low:+.3f}, {d.high:+.3f}]"
        verdict = "[bold]not noise[/bold]" if d.significant else "noise"
        difference = "-" if d.difference is None else f"{d.difference:+.3f}"
        table.add_row(
            LABELS.get(d.metric, d.metric),
            _number(d.base),
            _number(d.other),
            difference,
            interval,
            verdict,
        )
    return table


def _latency_table(report: EvaluationReport) -> Table:
    table = Table(title="latency per stage (ms)")
    table.add_column("stage")
    table.add_column("p50", justify="right")
    table.add_column("p95", justify="right")
    for stage, latency in report.metrics.latency.items():
        table.add_row(stage.removesuffix("_ms"), f"{latency.p50_ms:.1f}", f"{latency.p95_ms:.1f}")
    return table


def _cut(text: str, length: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


def _worst_table(report: EvaluationReport) -> Table:
    table = Table(title="worst questions (* a hit)", show_lines=True)
    table.add_column("question", ratio=3)
    table.add_column("expected", ratio=2)
    table.add_column("answer", ratio=3)
    table.add_column("retrieved: file, page", ratio=3, overflow="ellipsis", no_wrap=True)
    for index in report.worst:
        row = report.rows[index]
        retrieved = "\n".join(
            f"{'*' if r.hit else ' '} {r.filename}, {r.page if r.page is not None else '-'}"
            for r in row.retrieved
        )
        table.add_row(
            _cut(row.question, 120),
            _cut(row.expected, 60) if row.expected is not None else "(not in the documents)",
            "(abstained)" if row.abstained else _cut(row.answer, 120),
            retrieved,
        )
    return table


def print_report(report: EvaluationReport, console: Console) -> None:
    console.print(_metrics_table(report))
    console.print(_latency_table(report))
    if report.calibration is not None:
        c = report.calibration
        console.print(
            f"abstention threshold fitted and stored: {c.threshold:.4f} (precision"
            f" {c.precision:.3f}, recall {c.recall:.3f}, F1 {c.f1:.3f} on {c.questions} questions)"
        )
    if report.worst:
        console.print(_worst_table(report))
