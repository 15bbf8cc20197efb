"""Which chat questions lean on the conversation (core/answer/follow_up.py), and what a
follow-up borrows from it (core/answer/condense.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.answer.condense import borrowed_terms, topic_turns
from core.answer.follow_up import follow_up_reason
from core.answer.vocabulary import ChatMessage

FOLLOW_UPS = Path(__file__).parent.parent / "bench" / "data" / "multiturn" / "follow_ups.jsonl"


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("它的作用是什么？", "pronoun"),
        ("其版本号是多少？", "pronoun"),
        ("这个模板的默认颜色主题是什么？", "pronoun"),
        ("那第二个呢？", "ellipsis"),
        ("那 macOS 上呢？", "ellipsis"),
        ("为什么？", "short"),
        ("多少页？", "short"),
        ("When was it released?", "pronoun"),
        ("What file do I need to use it with BibTeX?", "pronoun"),
        ("How big was that content stream?", "pronoun"),
        ("Who designed it and why was it built?", "pronoun"),
        ("and the second one?", "ellipsis"),
        ("What about its page limit?", "ellipsis"),
        ("How many pages?", "short"),
        ("What is CO2?", "short"),
        ("什么是窃听？", "short"),
    ],
)
def test_a_follow_up_is_recognised_with_its_reason(question: str, reason: str) -> None:
    assert follow_up_reason(question) == reason


@pytest.mark.parametrize(
    "question",
    [
        "What did the Normans call their land?",  # "their" refers inside the question
        "What is the default colour theme of ElegantNote?",
        "ElegantNote 的默认颜色主题是哪一个？",
        "《Java 开发手册》规定单行字符数不超过多少个？",
        "谁是第一个在月球上喝酒的人？",
    ],
)
def test_a_question_that_stands_alone_is_not_a_follow_up(question: str) -> None:
    assert follow_up_reason(question) is None


def test_no_question_of_the_shared_qa_set_is_taken_for_a_follow_up(shared_data: Path) -> None:
    lines = (shared_data / "qa" / "pdf_qa.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines]
    assert [q for q in questions if follow_up_reason(q)] == []


def test_every_second_turn_of_the_tuning_pairs_is_recognised_and_no_first_turn_is() -> None:
    # The test split is measured by bench.multiturn, never tuned on.
    lines = FOLLOW_UPS.read_text(encoding="utf-8").splitlines()
    pairs = [p for p in map(json.loads, lines) if p["split"] == "tune"]
    firsts = [p["turns"][0]["question"] for p in pairs]
    seconds = [p["turns"][1]["question"] for p in pairs]
    assert [q for q in firsts if follow_up_reason(q)] == []
    assert [q for q in seconds if not follow_up_reason(q)] == []


def test_a_chain_of_follow_ups_borrows_from_the_question_that_started_it() -> None:
    history = [
        ChatMessage("user", "What is the default theme of ElegantNote?"),
        ChatMessage("assistant", "green [1]"),
        ChatMessage("user", "Who maintains the Java manual?"),
        ChatMessage("assistant", "Alibaba [2]"),
        ChatMessage("user", "When was it released?"),
        ChatMessage("assistant", "2022 [2]"),
    ]
    assert topic_turns(history) == ["When was it released?", "Who maintains the Java manual?"]
    borrowed = borrowed_terms(history, "and why?")
    assert "java" in borrowed and "elegantnote" not in borrowed
