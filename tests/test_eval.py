"""`zhiku ask` and `zhiku eval` over real documents, answered in this process (no service
owns the data directory) and through a running service's API; the shared set end to end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.asking import HttpAsker, format_answer, open_asker
from cli.main import main
from core.evaluation.golden import parse_golden
from core.evaluation.labels import RATIOS
from core.evaluation.report import EvaluationReport
from core.evaluation.runner import evaluate
from core.settings import Settings, get_settings
from tests.conftest import drain
from tests.nodes import Node

QA_ROWS = (7, 21, 25)  # Google Docs example (en), Java naming rules (zh), one unanswerable


def _qa_file(shared_data: Path, tmp_path: Path) -> Path:
    lines = (shared_data / "qa" / "pdf_qa.jsonl").read_text(encoding="utf-8").splitlines()
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(lines[i - 1] for i in QA_ROWS) + "\n", encoding="utf-8")
    return qa


def zhiku(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *argv: str,
) -> str:
    """The command's output, run as `zhiku ARGV` on the node's data directory."""
    monkeypatch.setenv("ZHIKU_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    assert exited.value.code == 0, err
    return out


@pytest.fixture
def ingested(node_factory: Callable[..., Node], shared_data: Path) -> Node:
    node = node_factory()
    collection = node.operations.open_collection("kb")
    node.operations.add_paths(
        collection,
        [
            shared_data / "pdfs" / "en-google-doc-example.pdf",
            shared_data / "docs" / "zh-java-naming-rules.md",
        ],
    )
    drain(node)
    node.stop()
    return node


def test_eval_writes_the_report_as_json_and_html_and_prints_a_table(
    ingested: Node,
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    qa = _qa_file(shared_data, tmp_path)
    report_file, html_file = tmp_path / "report.json", tmp_path / "report.html"
    printed = zhiku(
        ingested.settings,
        monkeypatch,
        capsys,
        "eval",
        str(qa),
        "--collection",
        "kb",
        "--report",
        str(report_file),
        "--html",
        str(html_file),
        "--json",
    )
    report = EvaluationReport.model_validate_json(printed)
    assert EvaluationReport.model_validate_json(report_file.read_text(encoding="utf-8")) == report
    beautiful, naming, unanswerable = report.rows
    assert (beautiful.hit_rank, beautiful.contained, beautiful.citations_right) == (1, True, 1)
    assert naming.hit_rank is not None and naming.hit_rank <= 5
    assert unanswerable.abstained and unanswerable.contained is None
    m = report.metrics
    assert (m.answerable, m.unanswerable, m.hit_at_5, m.abstention_recall) == (2, 1, 1.0, 1.0)
    assert report.config["top_k"] == 5 and report.config["backend"] == "extractive"
    page = html_file.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in page and page.count("<figure") > len(RATIOS)
    table = zhiku(ingested.settings, monkeypatch, capsys, "eval", str(qa), "-c", "kb")
    assert "retrieval hit@5" in table and "abstention F1" in table
    calibrated = EvaluationReport.model_validate_json(
        zhiku(
            ingested.settings,
            monkeypatch,
            capsys,
            "eval",
            str(qa),
            "-c",
            "kb",
            "--calibrate",
            "--json",
        )
    )
    fitted = calibrated.calibration
    # The unanswerable question's evidence is below both answerable ones': a cut between
    # them refuses it alone.
    assert fitted is not None and (fitted.precision, fitted.recall, fitted.f1) == (1, 1, 1)
    evidence = sorted(r.evidence or 0 for r in calibrated.rows)
    assert evidence[0] < fitted.threshold < evidence[1]
    stored = ingested.resources.catalog.get_collection("kb").settings
    assert stored["abstain_threshold"] == fitted.threshold


def test_ask_prints_the_answer_with_where_each_citation_points(ingested: Node) -> None:
    with open_asker(ingested.settings, "kb") as asker:
        answer = asker.ask("What is better than ugly?", 5)
    printed = format_answer(answer)
    assert printed.startswith("Beautiful is better than ugly.")
    assert "[1] en-google-doc-example.pdf, page 1: Beautiful is better than ugly." in printed


def test_evaluating_through_a_service_uses_its_query_and_chat_api(ingested: Node) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    golden = parse_golden(
        json.dumps(
            {
                "turns": [
                    {
                        "question": "What is better than ugly?",
                        "answer": "Beautiful",
                        "file": "en-google-doc-example.pdf",
                        "page": 1,
                    },
                    {
                        "question": "And what is better than implicit?",
                        "answer": "Explicit",
                        "file": "en-google-doc-example.pdf",
                        "page": 1,
                    },
                ]
            }
        ).encode(),
        "turns.jsonl",
    )
    with TestClient(create_app(ingested.settings)) as client:
        asker = HttpAsker("http://testserver", "kb", None)
        asker._http = client  # the service runs in this process; its client speaks to it
        report = asyncio.run(evaluate(asker.ask_turn(asker.top_k(None)), golden, top_k=5))
        conversations = client.get("/api/collections/kb/conversations").json()
    first, second = report.rows
    assert (first.turn, first.contained, second.turn, second.contained) == (1, True, 2, True)
    # The second turn went through the chat API, which keeps the conversation.
    assert len(conversations) == 1
    assert first.evidence is not None and second.timings["total_ms"] > 0


@pytest.mark.slow
def test_the_shared_set_end_to_end_and_a_worse_configuration_is_not_noise(
    node_factory: Callable[..., Node],
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    node = node_factory()
    collection = node.operations.open_collection("shared")
    files = sorted(p for folder in ("pdfs", "docs") for p in (shared_data / folder).glob("*.*"))
    node.operations.add_paths(collection, files)
    drain(node)
    node.stop()
    # Dense vectors alone: the default model's vectors rank Chinese passages poorly.
    worse = tmp_path / "dense.env"
    worse.write_text("ZHIKU_RETRIEVAL_MODE=dense\n", encoding="utf-8")
    printed = zhiku(
        node.settings,
        monkeypatch,
        capsys,
        "eval",
        str(shared_data / "qa" / "pdf_qa.jsonl"),
        "-c",
        "shared",
        "--compare",
        str(worse),
        "--json",
    )
    report = EvaluationReport.model_validate_json(printed)
    m = report.metrics
    assert (m.questions, m.answerable, m.unanswerable) == (30, 24, 6)
    # Measured: hit@5 0.958, MRR@10 0.826, containment 0.833, citation accuracy 0.849,
    # abstention F1 0.667 (extractive backend, multilingual-e5-small).
    assert m.hit_at_5 is not None and m.hit_at_5 >= 0.9
    assert m.answer_containment is not None and m.answer_containment >= 0.75
    # A citation whose sentence the checker cannot match (a table row quoted on its own) is
    # counted unverified: one of 20 on this set.
    assert m.citations_verified >= 0.9
    assert report.comparison is not None
    assert report.comparison.other.config["retrieval_mode"] == "dense"
    differences = {d.metric: d for d in report.comparison.differences}
    for metric in ("hit_at_5", "mrr_at_10", "answer_containment"):
        difference = differences[metric]
        assert difference.difference is not None and difference.difference < 0
        assert difference.significant, difference
