"""The arithmetic of scoring on answers given as the API's JSON: ranks past the first, pages,
width and case, the bootstrap's verdicts, the calibration's refusals, and --compare's env file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cli.evaluating import settings_from
from core.errors import InvalidInput
from core.evaluation.calibrate import fit_threshold
from core.evaluation.compare import compare
from core.evaluation.golden import GoldenItem
from core.evaluation.report import EvaluationReport
from core.evaluation.scoring import metrics, score_answer, worst
from tests.conftest import make_settings


def _chunk(filename: str, page: int | None, text: str) -> dict[str, Any]:
    return {"filename": filename, "page": page, "text": text, "score": 0.5}


def _answer(
    text: str, chunks: list[dict[str, Any]], cited: list[tuple[str, int, bool]]
) -> dict[str, Any]:
    return {
        "answer": text,
        "abstained": False,
        "chunks": chunks,
        "citations": [{"filename": f, "page": p, "verified": v} for f, p, v in cited],
        "timings": {"retrieve_ms": 10.0},
    }


def test_ranks_pages_and_normalised_text() -> None:
    item = GoldenItem(question="q", answer="ＡＢＣ Corp", file="docs/a.pdf", page=2)
    answer = _answer(
        "It is abc  corp.",
        [
            _chunk("a.pdf", 1, "ABC Corp on the wrong page"),
            _chunk("b.pdf", 2, "ABC Corp in the wrong file"),
            _chunk("a.pdf", 2, "nothing here"),
            _chunk("a.pdf", 2, "made by\nabc corp"),
        ],
        [("a.pdf", 2, True), ("a.pdf", 1, False)],
    )
    row = score_answer(item, 0, None, answer, 12.0)
    assert (row.hit_rank, row.contained) == (4, True)
    assert (row.citations, row.citations_right, row.citations_verified) == (2, 1, 1)
    # The evidence sentence is a hit too, without the answer.
    by_evidence = GoldenItem(question="q", answer="x", file="a.pdf", evidence="nothing here")
    assert score_answer(by_evidence, 0, None, answer, 1.0).hit_rank == 3
    second = score_answer(
        GoldenItem(question="q", answer="two", file="a.pdf"),
        1,
        None,
        _answer("two", [_chunk("a.pdf", 1, "one"), _chunk("a.pdf", 3, "two")], []),
        4.0,
    )
    m = metrics([row, second])
    assert (m.hit_at_1, m.hit_at_3, m.hit_at_5) == (0.0, 0.5, 1.0)
    assert m.mrr_at_10 == (1 / 4 + 1 / 2) / 2
    assert m.citation_accuracy == 1 / 2 and m.citations_verified == 1 / 2
    # No question without an answer: abstention is not measured.
    assert m.abstention_precision is m.abstention_recall is m.abstention_f1 is None
    # The first: one of its two citations points elsewhere; the second went right.
    assert worst([row, second]) == [0]


def _report(hits: list[bool]) -> EvaluationReport:
    rows = [
        score_answer(
            GoldenItem(question=f"q{i}", answer="yes", file="a.pdf"),
            i,
            None,
            _answer("yes" if hit else "no", [_chunk("a.pdf", 1, "yes" if hit else "no")], []),
            10.0 + i,
        )
        for i, hit in enumerate(hits)
    ]
    return EvaluationReport(
        config={}, golden="g", created_at=0, seconds=0, rows=rows, metrics=metrics(rows), worst=[]
    )


def test_the_bootstrap_tells_a_change_from_noise() -> None:
    base = _report([True] * 30)
    same = compare(base, _report([True] * 30))
    assert all(not d.significant for d in same)
    worse = {d.metric: d for d in compare(base, _report([True] * 15 + [False] * 15))}
    assert (
        worse["answer_containment"].difference == -0.5 and worse["answer_containment"].significant
    )
    one_off = {d.metric: d for d in compare(base, _report([True] * 29 + [False]))}
    assert (
        one_off["answer_containment"].difference < 0
        and not one_off["answer_containment"].significant
    )
    # Seeded: the same reports give the same intervals.
    assert compare(base, _report([True] * 29 + [False])) == compare(
        base, _report([True] * 29 + [False])
    )
    with pytest.raises(InvalidInput) as raised:
        compare(base, _report([True] * 29))
    assert raised.value.code == "evaluation_sets_differ"


def test_calibration_needs_both_kinds_of_question() -> None:
    with pytest.raises(InvalidInput) as raised:
        fit_threshold(_report([True, False]).rows)
    assert raised.value.code == "calibration_needs_both"


def test_compare_reads_zhiku_settings_from_an_env_file(tmp_path: Path) -> None:
    current = make_settings(tmp_path / "data")
    env = tmp_path / "other.env"
    env.write_text("# dense alone\nZHIKU_RETRIEVAL_MODE=dense\nZHIKU_RERANK_CANDIDATES=7\n")
    other = settings_from(current, env)
    assert (other.retrieval_mode, other.rerank_candidates) == ("dense", 7)
    assert other.data_dir == current.data_dir
    for text, code in (
        ("ZHIKU_TOP_SECRET=1\n", "evaluation_setting_unknown"),
        ("ZHIKU_RETRIEVAL_MODE=sideways\n", "evaluation_setting_invalid"),
    ):
        env.write_text(text)
        with pytest.raises(InvalidInput) as raised:
            settings_from(current, env)
        assert raised.value.code == code
    with pytest.raises(InvalidInput) as missing:
        settings_from(current, tmp_path / "none.env")
    assert missing.value.code == "evaluation_file_not_found"
