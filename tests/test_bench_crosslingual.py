"""The cross-lingual question sets of bench/data/crosslingual resolve onto the shared SQuAD
files, and the retrieval benchmark asks them over the right contexts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bench.retrieval import load_squad, load_translations
from core.retrieval.language import detect_language

SETS = Path(__file__).resolve().parents[1] / "bench" / "data" / "crosslingual"
# (translations, the SQuAD file they translate, the language they are in)
CASES = [
    ("cmrc2018_dev_en.jsonl", "cmrc2018_dev.json", "en"),
    ("squad_v2_dev_zh.jsonl", "squad_v2_dev.json", "zh"),
]
# Translated questions to fit on (bench.fit_fusion, bench.fit_question_means' share), and the
# measured set each must stay apart from.
TUNING = [
    ("tune_cmrc2018_dev_en.jsonl", "cmrc2018_dev.json", "en", "cmrc2018_dev_en.jsonl"),
    ("tune_squad_v2_dev_zh.jsonl", "squad_v2_dev.json", "zh", "squad_v2_dev_zh.jsonl"),
]
MEASURED = {name for name, _, _ in CASES}
ALL = CASES + [(name, squad, language) for name, squad, language, _ in TUNING]
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def answerable(squad: Path) -> dict[str, tuple[str, str]]:
    """Answerable question id → (question, its context)."""
    data = json.loads(squad.read_text(encoding="utf-8"))
    return {
        qa["id"]: (qa["question"], paragraph["context"])
        for article in data["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
        if any(a["text"].strip() for a in qa.get("answers", []))
        and not qa.get("is_impossible", False)
    }


def rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (SETS / name).read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("name", "squad", "language"), ALL)
def test_each_translation_is_of_a_distinct_answerable_question_in_the_shared_file(
    shared_data: Path, name: str, squad: str, language: str
) -> None:
    translated = rows(name)
    originals = answerable(shared_data / "squad" / squad)

    assert len(translated) >= (200 if name in MEASURED else 50)
    assert len({row["id"] for row in translated}) == len(translated)
    for row in translated:
        assert set(row) == {"id", "question", "source"}, row
        assert row["id"] in originals, row
        assert row["source"] == originals[row["id"]][0], row
        assert row["question"].strip(), row


@pytest.mark.parametrize(("name", "squad", "language"), ALL)
def test_each_translation_is_in_the_other_language(name: str, squad: str, language: str) -> None:
    for row in rows(name):
        assert detect_language(row["question"]) == language, row
        if language == "en":
            assert not CJK.search(row["question"]), row


@pytest.mark.parametrize(("name", "squad", "language"), CASES)
def test_load_squad_asks_the_translations_over_their_own_contexts(
    shared_data: Path, name: str, squad: str, language: str
) -> None:
    path = shared_data / "squad" / squad
    translations = load_translations(SETS / name)
    originals = answerable(path)

    contexts, questions = load_squad(path, None, None, translations)

    assert {q.id for q in questions} == set(translations)
    for question in questions:
        assert question.text == translations[question.id]
        assert contexts[question.context] == originals[question.id][1]


def test_load_squad_leaves_out_translations_whose_context_is_cut_then_subsamples(
    shared_data: Path,
) -> None:
    path = shared_data / "squad" / "squad_v2_dev.json"
    translations = load_translations(SETS / "squad_v2_dev_zh.jsonl")

    contexts, kept = load_squad(path, 400, None, translations)
    _, sampled = load_squad(path, 400, 50, translations)

    assert len(contexts) == 400
    assert 50 < len(kept) < len(translations)
    assert len(sampled) == 50
    assert {q.id for q in sampled} <= {q.id for q in kept}
    assert all(q.text == translations[q.id] for q in sampled)


@pytest.mark.parametrize(("name", "squad", "language", "measured"), TUNING)
def test_no_tuning_question_is_a_measured_one(
    name: str, squad: str, language: str, measured: str
) -> None:
    assert not {row["id"] for row in rows(name)} & {row["id"] for row in rows(measured)}
