"""Evaluation over a small collection written here: every metric against the value worked out
by hand from what each question got; a worse configuration scoring lower; the abstention
threshold fitted, stored and used; the HTML report drawn in Chromium."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.evaluation_asking import service_ask_turn
from core.answer.abstain import ABSTAIN_THRESHOLD
from core.answer.assembly import Answering
from core.evaluation.calibrate import fit_threshold
from core.evaluation.golden import parse_golden
from core.evaluation.html import render_html
from core.evaluation.labels import RATIOS
from core.evaluation.report import Calibration, EvaluationReport
from core.evaluation.runner import evaluate
from tests.browser import chromium_browser
from tests.conftest import drain
from tests.nodes import Node

DOCUMENTS = {
    "backups.md": "# Backups\n\nThe backups are copied every night to the archive in Hangzhou."
    " Each copy is checked against its checksum before the old one is removed.\n\n"
    "# Retention\n\nBackups are kept for 90 days. After 90 days a backup is deleted for good.\n",
    "假期.md": "# 年假\n\n员工每年享有１５天带薪年假。年假须提前两周向主管申请。\n\n"
    "# 病假\n\n病假需要提供医院开具的证明。\n",
}

ENTRIES: list[dict[str, object]] = [
    {
        "question": "Where are the backups copied every night?",
        "answer": "Hangzhou",
        "file": "docs/backups.md",
    },
    {"question": "员工每年享有多少天带薪年假？", "answer": "15天", "file": "假期.md"},
    {"question": "Which satellite does the observatory track on Tuesdays?", "answer": None},
    {"question": "Which city holds the archive?", "answer": "Hangzhou", "file": "假期.md"},
    {"question": "How much does each nightly backup copy cost?", "answer": None},
    {
        "turns": [
            {"question": "How long are backups kept?", "answer": "90 days", "file": "backups.md"},
            {
                "question": "What happens to a backup after that?",
                "answer": "deleted",
                "file": "backups.md",
            },
        ]
    },
]
GOLDEN = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in ENTRIES)
GOLDEN_QUESTIONS = [e.get("question") for e in ENTRIES]


@pytest.fixture
def collection_node(node_factory: Callable[..., Node], tmp_path: Path) -> Iterator[Node]:
    node = node_factory()
    collection = node.operations.open_collection("kb")
    for name, text in DOCUMENTS.items():
        node.add_bytes(collection, name, text.encode())
    drain(node)
    yield node


def _evaluate(node: Node, top_k: int, **overrides: object) -> EvaluationReport:
    answering = Answering(node.settings.model_copy(update=overrides), node.resources)
    collection = node.operations.collection("kb")
    items = parse_golden(GOLDEN.encode(), "golden.jsonl")
    seen: list[tuple[int, int]] = []

    async def run() -> EvaluationReport:
        try:
            return await evaluate(
                service_ask_turn(answering.service, collection, top_k),
                items,
                top_k=top_k,
                golden="年假与备份.jsonl",
                progress=lambda done, total: seen.append((done, total)),
            )
        finally:
            await answering.aclose()

    report = asyncio.run(run())
    assert seen == [(n, 7) for n in range(1, 8)]
    return report


def test_metrics_match_the_values_worked_out_by_hand(collection_node: Node) -> None:
    report = _evaluate(collection_node, top_k=3)
    got = [
        (r.item, r.turn, r.hit_rank, r.contained, r.abstained, r.citations, r.citations_right)
        for r in report.rows
    ]
    assert got == [
        (0, None, 1, True, False, 1, 1),
        # Full-width digits in the document, half-width in the gold answer.
        (1, None, 1, True, False, 1, 1),
        (2, None, None, None, True, 0, 0),
        # The gold file is the wrong one: nothing retrieved is a hit; the question is refused.
        (3, None, None, False, True, 0, 0),
        # Unanswerable: its best sentence shares a third of its words, and the Chinese passage
        # retrieved with it is not the dense side's closest, so nothing across languages
        # answers it either (service.py `_best_across`).
        (4, None, None, None, True, 0, 0),
        (5, 1, 1, True, False, 1, 1),
        # The follow-up, asked after the turn before it.
        (5, 2, 1, True, False, 1, 1),
    ]
    assert all(r.citations_verified == r.citations for r in report.rows)
    m = report.metrics
    assert (m.questions, m.answerable, m.unanswerable) == (7, 5, 2)
    # Answerable: rows 0, 1, 3, 5, 6; row 3 has no hit and no answer.
    assert m.hit_at_1 == m.hit_at_3 == m.hit_at_5 == m.mrr_at_10 == 4 / 5
    assert m.answer_containment == 4 / 5
    # Citations: four, of answerable questions, each of the gold file and verified.
    assert m.citation_accuracy == 4 / 4
    assert m.citations_verified == 4 / 4
    # Abstained: rows 2 (right), 3 (wrong) and 4 (right); unanswerable: rows 2 and 4.
    assert m.abstention_precision == round(2 / 3, 4)
    assert m.abstention_recall == 2 / 2
    assert m.abstention_f1 == 2 * 2 / (2 * 2 + 1 + 0)
    total = sorted(r.timings["total_ms"] for r in report.rows)
    assert m.latency["total_ms"].p50_ms == total[3]
    # numpy's default: linear between the ranks around 0.95 * 6 = 5.7.
    assert m.latency["total_ms"].p95_ms == round(total[5] + 0.7 * (total[6] - total[5]), 1)
    assert set(m.latency) == {"retrieve_ms", "generate_ms", "total_ms"}
    assert report.worst == [3]
    assert report.rows[3].retrieved and report.config["top_k"] == 3
    assert EvaluationReport.model_validate_json(report.model_dump_json()) == report


def test_the_fitted_threshold_is_stored_shown_and_used(collection_node: Node) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    report = _evaluate(collection_node, top_k=3)
    # Evidence of answerable questions 1, 1, 1/3, 2/3, 2/3; of unanswerable ones 0, 1/3.
    # Between 1/3 and 2/3 all of the unanswerable ones and one answerable one abstain:
    # precision 2/3, recall 1, F1 4/5, above every other cut.
    calibration = fit_threshold(report.rows)
    assert calibration == Calibration(
        threshold=0.5, precision=round(2 / 3, 4), recall=1.0, f1=0.8, questions=7
    )
    catalog = collection_node.resources.catalog
    catalog.set_collection_settings("kb", {"top_k": 3, ABSTAIN_THRESHOLD: calibration.threshold})
    with TestClient(create_app(collection_node.settings)) as client:
        shown = client.get("/api/collections/kb/settings").json()
        assert shown["abstain_threshold"] == 0.5 and shown["stored"]["top_k"] == 3
        answer = client.post(
            "/api/collections/kb/query", json={"question": GOLDEN_QUESTIONS[4]}
        ).json()
        assert answer["evidence"] == report.rows[4].evidence
    again = _evaluate(collection_node, top_k=3)
    assert [r.evidence for r in again.rows] == [r.evidence for r in report.rows]
    # Below 0.5: rows 2, 3 and 4, as below the service's own threshold for English (0.55).
    assert [r.abstained for r in again.rows] == [False, False, True, True, True, False, False]
    assert [r.abstained for r in report.rows] == [False, False, True, True, True, False, False]
    # A stricter threshold stored for the collection refuses the rows of evidence 2/3 too.
    catalog.set_collection_settings("kb", {ABSTAIN_THRESHOLD: 0.7})
    stricter = _evaluate(collection_node, top_k=3)
    assert [r.abstained for r in stricter.rows] == [False, False, True, True, True, True, True]


def test_the_html_report_draws_a_chart_per_metric(collection_node: Node, tmp_path: Path) -> None:
    report = _evaluate(collection_node, top_k=3)
    report.config["label"] = "top_k 3"
    worse = _evaluate(collection_node, top_k=1, retrieval_mode="dense")
    worse.config["label"] = "dense top_k 1"
    page = tmp_path / "report.html"
    page.write_text(render_html(report, worse), encoding="utf-8")
    with chromium_browser() as browser:
        tab = browser.new_page()
        tab.goto(page.as_uri())
        figures = tab.locator("figure")
        metrics = [figures.nth(i).get_attribute("data-metric") for i in range(figures.count())]
        assert metrics[: len(RATIOS)] == RATIOS
        assert {"latency-total_ms", "latency-retrieve_ms"} <= set(metrics)
        # Two bars per chart, drawn as wide as their values.
        widths = tab.evaluate(
            """[...document.querySelectorAll('figure[data-metric="hit_at_1"] rect.bar')]
               .map(r => r.getBoundingClientRect().width)"""
        )
        assert len(widths) == 2 and widths[0] > 0
        text = tab.inner_text("body")
        # Chinese read as UTF-8, not as mojibake: the set's name, in the title and the page.
        assert tab.title() == "Zhiku evaluation: 年假与备份.jsonl"
        assert "Zhiku evaluation: 年假与备份.jsonl" in text
        assert "Which city holds the archive?" in text
        assert "dense top_k 1 against top_k 3" in text and "95% interval" in text
        tab.screenshot(path=str(tmp_path / "report.png"), full_page=True)
