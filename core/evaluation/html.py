"""An evaluation report as one self-contained HTML page: a bar chart per metric (inline SVG,
drawn by the browser without a script or anything fetched), latency per stage, the
differences with their intervals when another configuration was compared, and the worst
questions with what was retrieved for them."""

from __future__ import annotations

from html import escape

from core.evaluation.compare import compare
from core.evaluation.labels import LABELS, RATIOS
from core.evaluation.report import Difference, EvaluationReport, Latency

_COLOURS = ("#2b6cb0", "#dd6b20")
_WIDTH = 360
_BAR = 22
_STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
  margin: 2rem; color: #1a202c; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; padding: .5rem; border: 1px solid #e2e8f0; border-radius: 6px; }
figcaption { font-weight: 600; margin-bottom: .25rem; }
table { border-collapse: collapse; margin: 1rem 0; }
td, th { border: 1px solid #e2e8f0; padding: .3rem .5rem; vertical-align: top; text-align: left; }
.hit { font-weight: 600; color: #276749; }
.significant { font-weight: 600; }
"""


def _label(report: EvaluationReport, fallback: str) -> str:
    return str(report.config.get("label") or fallback)


def _bars(
    values: list[tuple[str, float | None]], scale: float, unit: str = "", per_colour: int = 1
) -> str:
    """One horizontal bar per value, `per_colour` values to each configuration's colour;
    `scale`: the value a full bar stands for."""
    label = max((len(name) for name, _ in values), default=0) * 7 + 8
    room = _WIDTH - label - 70
    height = _BAR * len(values) + 8
    parts = [
        f'<svg class="chart" width="{_WIDTH}" height="{height}" role="img"'
        f' xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (name, value) in enumerate(values):
        y = 4 + i * _BAR
        shown = "-" if value is None else f"{value:{'.1f' if unit else '.3f'}}{unit}"
        width = 0.0 if value is None or scale <= 0 else max(value / scale, 0) * room
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12">{escape(name)}</text>'
            f'<rect class="bar" x="{label}" y="{y + 2}" width="{width:.1f}" height="{_BAR - 6}"'
            f' fill="{_COLOURS[i // per_colour % 2]}"><title>{escape(name)}: {shown}</title>'
            f'</rect><text x="{label + width + 4:.1f}" y="{y + 15}" font-size="12">{shown}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _metric_charts(reports: list[EvaluationReport], names: list[str]) -> str:
    figures = []
    for metric in RATIOS:
        values = [(n, getattr(r.metrics, metric)) for n, r in zip(names, reports, strict=True)]
        figures.append(
            f'<figure data-metric="{metric}"><figcaption>{escape(LABELS[metric])}</figcaption>'
            f"{_bars(values, 1.0)}</figure>"
        )
    return f'<div class="charts">{"".join(figures)}</div>'


def _latency_charts(reports: list[EvaluationReport], names: list[str]) -> str:
    stages = sorted({s for r in reports for s in r.metrics.latency})
    figures = []
    for stage in stages:
        got: list[Latency | None] = [r.metrics.latency.get(stage) for r in reports]
        values = [
            (f"{n} {q}", None if lat is None else getattr(lat, f"{q}_ms"))
            for n, lat in zip(names, got, strict=True)
            for q in ("p50", "p95")
        ]
        scale = max((v for _, v in values if v is not None), default=0.0)
        chart = _bars(values, scale, " ms", per_colour=2)
        figures.append(
            f'<figure data-metric="latency-{escape(stage)}"><figcaption>latency:'
            f" {escape(stage.removesuffix('_ms'))}</figcaption>{chart}</figure>"
        )
    return f'<div class="charts">{"".join(figures)}</div>'


def _differences(differences: list[Difference], names: list[str]) -> str:
    rows = []
    for d in differences:
        interval = "-" if d.low is None else f"[{d.low:+.3f}, {d.high:+.3f}]"
        verdict = "not noise" if d.significant else "noise"
        change = "-" if d.difference is None else f"{d.difference:+.3f}"
        rows.append(
            f'<tr class="{"significant" if d.significant else ""}">'
            f"<td>{escape(LABELS.get(d.metric, d.metric))}</td><td>{change}</td>"
            f"<td>{interval}</td><td>{verdict}</td></tr>"
        )
    return (
        f"<h2>{escape(names[1])} against {escape(names[0])}</h2>"
        "<p>Each difference with its paired bootstrap 95% interval over the questions: an"
        " interval that holds 0 may be noise.</p><table><tr><th>metric</th><th>difference</th>"
        f"<th>95% interval</th><th></th></tr>{''.join(rows)}</table>"
    )


def _worst(report: EvaluationReport, name: str) -> str:
    rows = []
    for index in report.worst:
        row = report.rows[index]
        retrieved = "".join(
            f'<li class="{"hit" if r.hit else ""}">{escape(r.filename)}'
            f"{'' if r.page is None else f', p. {r.page}'}: {escape(r.text[:160])}</li>"
            for r in row.retrieved
        )
        expected = "(not in the documents)" if row.expected is None else row.expected
        answer = "(abstained)" if row.abstained else row.answer
        rows.append(
            f"<tr><td>{escape(row.question)}</td><td>{escape(expected)}</td>"
            f"<td>{escape(answer)}</td><td><ol>{retrieved}</ol></td></tr>"
        )
    if not rows:
        return f"<h2>Worst questions ({escape(name)})</h2><p>Every question went right.</p>"
    return (
        f"<h2>Worst questions ({escape(name)})</h2><table><tr><th>question</th>"
        f"<th>expected</th><th>answer</th><th>retrieved</th></tr>{''.join(rows)}</table>"
    )


def render_html(report: EvaluationReport, other: EvaluationReport | None = None) -> str:
    reports = [report] if other is None else [report, other]
    names = [_label(report, "this"), *([_label(other, "other")] if other else [])]
    m = report.metrics
    config = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in report.config.items()
    )
    calibration = ""
    if report.calibration is not None:
        c = report.calibration
        calibration = (
            f"<p>Abstention threshold fitted: {c.threshold:.4f} (precision {c.precision:.3f},"
            f" recall {c.recall:.3f}, F1 {c.f1:.3f})</p>"
        )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>Zhiku evaluation: {escape(report.golden)}</title><style>{_STYLE}</style>"
        f"</head><body><h1>Zhiku evaluation: {escape(report.golden)}</h1>"
        f"<p>{m.questions} questions ({m.answerable} answerable, {m.unanswerable} without an"
        f" answer in the documents), {report.seconds:.1f} s.</p><table>{config}</table>"
        f"{calibration}<h2>Metrics</h2>{_metric_charts(reports, names)}"
        f"<h2>Latency</h2>{_latency_charts(reports, names)}"
        + (_differences(compare(report, other), names) if other is not None else "")
        + "".join(_worst(r, n) for r, n in zip(reports, names, strict=True))
        + "</body></html>"
    )
