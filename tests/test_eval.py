"""`zhiku ask` and `zhiku eval` over real documents, answered in this process (no service
owns the data directory) and through a running service's API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.asking import HttpAsker, format_answer, open_asker
from cli.evaluating import load_qa, report, run_eval, summarize
from core.errors import InvalidInput
from tests.conftest import drain
from tests.nodes import Node

QA_ROWS = (7, 21, 25)  # Google Docs example (en), Java naming rules (zh), one unanswerable


def _qa_file(shared_data: Path, tmp_path: Path) -> Path:
    lines = (shared_data / "qa" / "pdf_qa.jsonl").read_text(encoding="utf-8").splitlines()
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(lines[i - 1] for i in QA_ROWS) + "\n", encoding="utf-8")
    return qa


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


def test_eval_scores_answers_citations_and_abstention(
    ingested: Node, shared_data: Path, tmp_path: Path
) -> None:
    items = load_qa(_qa_file(shared_data, tmp_path))
    with open_asker(ingested.settings, "kb") as asker:
        scored = run_eval(asker, items, top_k=5)
    by_question = {s.question: s for s in scored}
    beautiful = by_question[items[0].question]
    assert (beautiful.retrieved, beautiful.correct, beautiful.cited) == (True, True, True)
    assert by_question[items[1].question].retrieved is True
    unanswerable = by_question[items[2].question]
    assert unanswerable.abstained and unanswerable.correct is None
    summary = summarize(scored, top_k=5)
    assert (summary["answerable"], summary["unanswerable"]) == (2, 1)
    assert summary["retrieved_at_5"] == 1.0 and summary["abstained_when_unanswerable"] == 1.0
    lines = report(scored, 5, as_json=True).splitlines()
    assert len(lines) == 4 and json.loads(lines[-1]) == summary
    assert "abstention_balanced_accuracy" in report(scored, 5, as_json=False)


def test_ask_prints_the_answer_with_where_each_citation_points(ingested: Node) -> None:
    with open_asker(ingested.settings, "kb") as asker:
        answer = asker.ask("What is better than ugly?", 5)
    printed = format_answer(answer)
    assert printed.startswith("Beautiful is better than ugly.")
    assert "[1] en-google-doc-example.pdf, page 1: Beautiful is better than ugly." in printed


def test_a_malformed_qa_line_is_refused_with_its_line_number(tmp_path: Path) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"question": "ok?"}\n{"answer": "no question"}\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"qa.jsonl:2"):
        load_qa(qa)


def test_asking_through_a_service_uses_its_api(ingested: Node) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(ingested.settings)) as client:
        asker = HttpAsker("http://testserver", "kb", None)
        asker._http = client  # the service runs in this process; its client speaks to it
        answer = asker.ask("What is better than ugly?", 5)
    assert answer["citations"][0]["filename"] == "en-google-doc-example.pdf"
