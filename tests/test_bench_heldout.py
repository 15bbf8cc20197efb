"""The held-out QA set of bench/data/heldout keeps its shape, cites only documents fetch.py
fetches, and loads with `zhiku eval`. Its answers are checked against the documents themselves
when they have been fetched (`fetch.py`, then HELDOUT_DOCS or /tmp/heldout-docs)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from core.evaluation.golden import parse_golden

HELDOUT = Path(__file__).resolve().parents[1] / "bench" / "data" / "heldout"


def module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"heldout_{name}", HELDOUT / f"{name}.py")
    assert spec and spec.loader
    loaded = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules
    sys.modules[spec.name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


def lines(name: str) -> list[dict[str, Any]]:
    text = (HELDOUT / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_the_set_is_large_enough_balanced_and_a_third_unanswerable() -> None:
    check = module("check")
    questions = lines("questions.jsonl")
    unanswerable = [q for q in questions if q["answer"] is None]
    languages = [check.language_of(q["question"]) for q in questions]
    assert len(questions) >= 60
    assert 3 * len(unanswerable) >= len(questions)
    assert abs(languages.count("zh") - languages.count("en")) <= len(questions) // 10
    for language in ("zh", "en"):
        assert any(check.language_of(q["question"]) == language for q in unanswerable)
    for q in unanswerable:
        assert q["file"] is None and q["page"] is None and q["evidence"] is None
    for q in questions:
        if q["answer"] is not None:
            assert check.norm(q["answer"]) in check.norm(q["evidence"]), q["file"]
            assert q["file"].startswith(check.language_of(q["question"]) + "-")


def test_every_cited_file_is_one_that_fetch_fetches() -> None:
    fetched = {document.name for document in module("fetch").DOCUMENTS}
    cited = {q["file"] for q in lines("questions.jsonl") if q["file"]}
    cited |= {t["file"] for c in lines("multiturn.jsonl") for t in c["turns"] if t["file"]}
    assert cited <= fetched
    assert fetched == cited, "a fetched document without a question"


def test_zhiku_eval_loads_the_set_and_its_conversations() -> None:
    for name in ("questions.jsonl", "multiturn.jsonl"):
        items = parse_golden((HELDOUT / name).read_bytes(), name)
        assert len(items) == len(lines(name))


def test_conversations_have_two_turns_the_first_answerable() -> None:
    conversations = lines("multiturn.jsonl")
    assert len(conversations) >= 4
    for conversation in conversations:
        first, second = conversation["turns"]
        assert first["answer"] is not None
        assert second["question"]


def test_every_answer_is_on_its_page_of_the_fetched_documents() -> None:
    docs = Path(os.environ.get("HELDOUT_DOCS", "/tmp/heldout-docs"))
    if not docs.is_dir():
        pytest.skip(f"{docs} absent: run bench/data/heldout/fetch.py")
    check = module("check")
    for q in lines("questions.jsonl"):
        assert check.check_item(q, docs) == [], q["file"]
    for conversation in lines("multiturn.jsonl"):
        for turn in conversation["turns"]:
            assert check.check_item(turn, docs) == [], turn["file"]
