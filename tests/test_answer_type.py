"""Judging whether a sentence holds what its question asks for (core/answer/answer_type.py),
and abstaining when a knowledge base holds the question's topic but not its answer: real
paragraphs of CMRC 2018 and SQuAD 2.0 with the sentence that answers cut out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from core.answer.answer_type import expected_type, holds
from core.answer.sentences import split_sentences
from tests.conftest import make_settings, upload_and_wait


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("山东女子学院现有几个校区？", "number"),
        ("How many campuses does it have?", "number"),
        ("于海什么时候入选中国国家队？", "time"),
        ("When did Richard II flee to Normandy?", "time"),
        ("美特斯邦威的目标消费人群是谁？", "person"),
        ("Who founded the Mozilla Foundation?", "person"),
        ("2000年桃花源小厨在哪儿开设？", "place"),
        ("Where is the data stored?", "place"),
        ("成公英后来为什么投降曹操？", "reason"),
        # 称之为什么 asks what a thing is called, not why.
        ("四川地区，将五月艾称之为什么？", None),
        ("What is the default colour theme?", None),
    ],
)
def test_the_kind_of_answer_is_read_from_the_question_word(question: str, kind: str) -> None:
    assert expected_type(question) == kind


@pytest.mark.parametrize(
    ("kind", "sentence", "question", "held"),
    [
        ("number", "市中校区位于济南市市中区玉函路45号。", "山东女子学院现有几个校区？", True),
        # 一个 is an article, not a count.
        ("number", "淮海中路街道是黄浦区下辖的一个街道办事处。", "人口密度是多少？", False),
        # A number the question names is not the one it asks for.
        ("number", "2001年，经营权移交给儿子。", "自2001年，经营权有多少年？", False),
        ("time", "The Normans were in Normandy in the 10th and 11th centuries.", "When?", False),
        ("time", "Hervé served in the 1050s.", "When did Herve serve?", True),
        ("time", "生殖季在2至4月。", "生殖季是什么时候？", True),
        ("time", "Offline OCR ships in Q3.", "When does offline OCR ship?", True),
        ("time", "The warranty lasts two years.", "How long does the warranty last?", True),
        ("number", "读者每次最多可以借阅十本图书。", "读者最多借阅多少本图书？", True),
        ("person", "The foundation was started by Mitchell Baker.", "Who started it?", True),
        ("person", "The Foundation was started in 2003.", "Who started the Foundation?", False),
        ("person", "这个计划由毛泽东主持。", "这个计划由谁来主持？", True),
        ("place", "大果西番莲原产于南美洲热带地区。", "大果西番莲分布在什么地区？", True),
        ("place", "大果西番莲是西番莲属中果实最大的一种。", "大果西番莲分布在什么地区？", False),
    ],
)
def test_a_sentence_holds_the_kind_only_with_one_the_question_does_not_name(
    kind: Any, sentence: str, question: str, held: bool
) -> None:
    assert holds(kind, sentence, question) is held


def _paragraph_of(path: Path, question: str) -> tuple[str, str]:
    """The paragraph a question was asked of, and its first answer ("" for none)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if qa["question"] == question:
                    answers = qa["answers"] or [{"text": ""}]
                    return paragraph["context"], answers[0]["text"]
    raise AssertionError(f"not in {path.name}: {question}")


def _without(context: str, answer: str) -> str:
    return "".join(s.text for s in split_sentences(context) if answer not in s.text)


ZH_QUESTIONS = (
    "于海什么时候入选中国国家队？",
    "2000年桃花源小厨在哪儿开设？",
    "目前学校男女生比例是多少？",
)
EN_QUESTION = "When did Richard II flee to Normandy?"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("answer-type") / "data")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _ask(client: TestClient, collection: str, question: str) -> dict[str, Any]:
    response = client.post(f"/api/collections/{collection}/query", json={"question": question})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.slow
@pytest.mark.parametrize("question", ZH_QUESTIONS)
def test_a_question_abstains_over_its_topic_without_the_kind_of_answer_it_asks_for(
    client: TestClient, shared_data: Path, question: str
) -> None:
    context, answer = _paragraph_of(shared_data / "squad" / "cmrc2018_trial.json", question)
    cut = _without(context, answer)
    assert answer not in cut and len(split_sentences(cut)) >= 2
    name = f"q{ZH_QUESTIONS.index(question)}"
    for kb, text in ((f"{name}-whole", context), (f"{name}-cut", cut)):
        assert upload_and_wait(client, kb, f"{kb}.txt", text.encode("utf-8"))["state"] == "done"
    whole = _ask(client, f"{name}-whole", question)
    assert not whole["abstained"] and answer in whole["answer"]
    got = _ask(client, f"{name}-cut", question)
    assert got["abstained"], (got["answer"], got.get("evidence"), cut)


@pytest.mark.slow
def test_a_when_question_abstains_over_a_passage_with_no_time_of_it(
    client: TestClient, shared_data: Path
) -> None:
    # SQuAD 2.0 wrote it to look answerable from this paragraph, which gives no such date.
    context, _ = _paragraph_of(shared_data / "squad" / "squad_v2_dev.json", EN_QUESTION)
    assert upload_and_wait(client, "normans", "normans.txt", context.encode())["state"] == "done"
    assert _ask(client, "normans", EN_QUESTION)["abstained"]
