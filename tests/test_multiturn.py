"""Conversations over two real documents, through the chat API, with bench.multiturn's sets
(the benchmark runs all of them): questions that stand alone answer in a conversation exactly
as alone, and follow-ups are answered from the turn they refer to."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.multiturn import FOLLOW_UPS, Chat, Turn, correct
from tests.conftest import service_with, upload_and_wait

FILES = ("pdfs/zh-elegantpaper-guide.pdf", "pdfs/en-elegantpaper-guide.pdf")


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Chat]:
    first, second = (shared_data / f for f in FILES)
    folder = tmp_path_factory.mktemp("multiturn")
    with service_with(folder, "shared", first.name, first.read_bytes()) as client:
        assert (
            upload_and_wait(client, "shared", second.name, second.read_bytes())["state"] == "done"
        )
        yield Chat(client)


def _qa(shared_data: Path) -> list[Turn]:
    """The shared QA set's questions about these files, and those it cannot answer."""
    lines = (shared_data / "qa" / "pdf_qa.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    return [Turn(r["question"], r["answer"]) for r in rows if r["file"] in (*FILES, None)]


def test_questions_that_stand_alone_answer_in_one_conversation_as_alone(
    chat: Chat, shared_data: Path
) -> None:
    turns = _qa(shared_data)
    alone = [chat.ask([t])[0] for t in turns]
    together = chat.ask(turns)
    assert [r["answer"] for r in together] == [r["answer"] for r in alone]
    assert [r["question"] for r in together] == [t.question for t in turns]
    # 6 of 8 when written: the English engines question abstains, and a Chinese question
    # about another document is answered with the English guide's opening (answers across
    # languages trust the dense score): both are answer quality, issue 20.
    assert sum(correct(t, r) for t, r in zip(turns, together, strict=True)) >= 6


def test_follow_ups_are_answered_from_the_turn_they_refer_to(chat: Chat) -> None:
    pairs = [json.loads(line) for line in FOLLOW_UPS.read_text(encoding="utf-8").splitlines()]
    pairs = [p for p in pairs if p["file"] in FILES]
    answered = alone = 0
    for pair in pairs:
        first, second = (Turn(t["question"], t["answer"]) for t in pair["turns"])
        replies = chat.ask([first, second])
        answered += correct(second, replies[1])
        alone += correct(second, chat.ask([second])[0])
        # What was searched for says what the follow-up was taken to be about.
        assert replies[1]["question"] != second.question
    assert answered > alone
    assert answered >= len(pairs) * 2 // 3
