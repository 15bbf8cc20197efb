"""`zhiku eval`: a golden set (README, "Evaluating") asked of a collection and scored, printed as
a table (or the report's JSON); optionally the report written as JSON and HTML, the same set
run again under the settings of another env file and each difference shown with its
confidence interval, and the collection's abstention threshold fitted on the set."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress

from cli.asking import Asker, open_asker
from cli.eval_table import print_report
from core.answer.abstain import ABSTAIN_THRESHOLD
from core.errors import InvalidInput
from core.evaluation.calibrate import fit_threshold
from core.evaluation.compare import compare
from core.evaluation.golden import GoldenItem, parse_golden
from core.evaluation.html import render_html
from core.evaluation.report import Comparison, EvaluationReport
from core.evaluation.runner import evaluate
from core.settings import Settings


def load_golden(path: Path) -> list[GoldenItem]:
    if not path.is_file():
        raise InvalidInput("evaluation_file_not_found", source=str(path))
    return parse_golden(path.read_bytes(), path.name)


def settings_from(current: Settings, path: Path) -> Settings:
    """`current`, with the ZHIKU_* values of the env file at `path` in place of its own."""
    if not path.is_file():
        raise InvalidInput("evaluation_file_not_found", source=str(path))
    changes: dict[str, Any] = {}
    for key, value in dotenv_values(path).items():
        name = key.removeprefix("ZHIKU_").lower()
        if not key.startswith("ZHIKU_") or name not in Settings.model_fields:
            raise InvalidInput("evaluation_setting_unknown", source=str(path), name=key)
        changes[name] = value
    try:
        return Settings(**{**current.model_dump(), **changes})
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise InvalidInput(
            "evaluation_setting_invalid",
            source=str(path),
            problem=f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}",
        ) from exc


def _run(
    asker: Asker,
    items: list[GoldenItem],
    top_k: int,
    golden: str,
    label: str,
    settings: Settings | None,
    quiet: bool,
) -> EvaluationReport:
    ask = asker.ask_turn(top_k, settings)
    # Untimed: the first question in this process loads the query encoder.
    asker.run(ask(items[0].asked[0].question or "", ()))
    config = {"label": label, **asker.describe(settings)}
    with Progress(console=Console(stderr=True), transient=True, disable=quiet) as bar:
        task = bar.add_task(label, total=None)
        return asker.run(
            evaluate(
                ask,
                items,
                top_k=top_k,
                config=config,
                golden=golden,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        )


def run_eval(settings: Settings, args: argparse.Namespace) -> int:
    items = load_golden(args.golden)
    other = settings_from(settings, args.compare) if args.compare else None
    with open_asker(settings, args.collection) as asker:
        top_k = asker.top_k(args.top_k)
        name = args.golden.name
        report = _run(asker, items, top_k, name, "current", None, args.json)
        if other is not None:
            compared = _run(asker, items, top_k, name, args.compare.name, other, args.json)
            report.comparison = Comparison(other=compared, differences=compare(report, compared))
        if args.calibrate:
            report.calibration = fit_threshold(report.rows)
            asker.update_settings({ABSTAIN_THRESHOLD: report.calibration.threshold})
    if args.report:
        args.report.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    if args.html:
        other_report = report.comparison.other if report.comparison else None
        args.html.write_text(render_html(report, other_report), encoding="utf-8")
    if args.json:
        sys.stdout.write(report.model_dump_json() + "\n")
    else:
        print_report(report, Console())
    return 0
