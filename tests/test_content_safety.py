"""Content safety (内容安全) over real HTTP: listed questions refused with their own code before
any retrieval or model call, listed terms in answers masked or the answer withheld, in JSON and
in streams where a term arrives split across deltas, per deployment and per collection, counted
in the metrics; and nothing built or checked when no list is configured."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.content_safety import WITHHELD, ContentSafety, WordList
from core.settings import Settings
from tests.asking import MODES, ask
from tests.browser import add_document, running
from tests.conftest import make_settings
from tests.llm_server import Answer, FakeOpenAI

GUIDE = """# Operations

Backups are copied nightly to the archive in Hangzhou. 备份每天夜里复制到杭州的档案库。
"""
EN = "Where are backups copied to?"
ZH = "备份复制到哪里？"
LISTS = {
    "zh.txt": "# 中文词表\n违禁词\n\n敏感话题  # 行内注释\n",
    "en.txt": "# English\nForbidden Phrase\nkill\n",
    "secret.txt": "项目代号\n",
}
SPLIT_ANSWER = (
    "Backups go to Hangzhou [1]. 违",
    "禁",
    "词 and FORBID",
    "DEN phr",
    "ase; skills stay, kill goes.",
)


def _lists(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in LISTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return {name: str(folder / name) for name in LISTS}


def _counted(http: httpx.Client) -> dict[tuple[str, str], float]:
    text = http.get("/metrics").text
    pattern = r'^zhiku_content_safety_total\{action="(\w+)",where="(\w+)"\} (\S+)$'
    return {(m[2], m[1]): float(m[3]) for m in re.finditer(pattern, text, re.M)}


def _service(folder: Path, port: int, upstream: FakeOpenAI, answer: str) -> Iterator[httpx.Client]:
    paths = _lists(folder / "lists")
    settings = make_settings(
        folder / "data",
        port=port,
        llm_backend="openai",
        llm_base_url=upstream.base_url,
        llm_model="fake-model",
        llm_max_retries=0,
        content_safety_lists=f"{paths['zh.txt']}, {paths['en.txt']}",
        content_safety_collection_lists={"secret": [paths["secret.txt"]]},
        content_safety_answer=answer,
    )
    with running(settings) as service:
        for collection in ("ops", "secret"):
            job = add_document(service.url, collection, "guide.md", GUIDE.encode())
            assert job["state"] == "done"
        with httpx.Client(base_url=service.url, timeout=60) as http:
            yield http


@pytest.fixture(scope="module")
def masking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, FakeOpenAI]]:
    with FakeOpenAI() as upstream:
        for http in _service(tmp_path_factory.mktemp("mask"), 18521, upstream, "mask"):
            yield http, upstream


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "question",
    [
        "违禁词的备份在哪里？",
        "Where are ＦＯＲＢＩＤＤＥＮ　ＰＨＲＡＳＥ backups?",
        "敏感\u200b话题？",
    ],
)
def test_a_listed_question_is_refused_with_its_own_code_before_any_work(
    masking: tuple[httpx.Client, FakeOpenAI], mode: str, question: str
) -> None:
    http, upstream = masking
    asked_before, counted = len(upstream.completions), _counted(http)
    asked = ask(http, "ops", question, mode)
    assert asked.status == 400 and asked.error is not None
    assert asked.error["code"] == "content_refused"
    assert "违禁" not in asked.error["message"] and "forbidden" not in asked.error["message"]
    assert len(upstream.completions) == asked_before, "the model was asked anyway"
    assert _counted(http)[("question", "refused")] == counted.get(("question", "refused"), 0) + 1


def test_collection_lists_apply_to_their_collection_only(
    masking: tuple[httpx.Client, FakeOpenAI],
) -> None:
    http, upstream = masking
    upstream.reply_with(Answer(("Backups go to Hangzhou [1].",)))
    question = "项目代号的备份在哪里？"
    refused = ask(http, "secret", question, "query")
    assert refused.status == 400 and refused.error and refused.error["code"] == "content_refused"
    assert ask(http, "ops", question, "query").status == 200
    # The deployment's lists hold in every collection.
    assert ask(http, "secret", "违禁词?", "query").status == 400
    # A word that merely contains an English term is not it.
    assert ask(http, "ops", "Which skills copy backups?", "query").status == 200


@pytest.mark.parametrize("mode", MODES)
def test_listed_terms_in_an_answer_are_masked_even_split_across_deltas(
    masking: tuple[httpx.Client, FakeOpenAI], mode: str
) -> None:
    http, upstream = masking
    upstream.reply_with(Answer(SPLIT_ANSWER))
    counted = _counted(http)
    asked = ask(http, "ops", EN, mode)
    assert asked.status == 200, asked.error
    for text in asked.texts():
        assert "Hangzhou" in text and "skills stay" in text, text
        assert "违禁词" not in text and "forbidden" not in text.lower() and "kill goes" not in text
        assert "*** and ****************;" in text and "**** goes" in text, text
    masked = _counted(http)[("answer", "masked")] - counted.get(("answer", "masked"), 0)
    assert masked == 3


@pytest.fixture(scope="module")
def withholding(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[httpx.Client, FakeOpenAI]]:
    with FakeOpenAI() as upstream:
        for http in _service(tmp_path_factory.mktemp("withhold"), 18522, upstream, "withhold"):
            yield http, upstream


@pytest.mark.parametrize("mode", MODES)
def test_an_answer_with_a_listed_term_is_withheld_when_set(
    withholding: tuple[httpx.Client, FakeOpenAI], mode: str
) -> None:
    http, upstream = withholding
    upstream.reply_with(Answer(SPLIT_ANSWER))
    counted = _counted(http)
    asked = ask(http, "ops", EN, mode)
    assert asked.status == 200, asked.error
    # A stream shows what came before the term, then the notice; the final answer is the notice.
    if mode == "v1-stream":
        assert asked.final.endswith(WITHHELD["en"])
    else:
        assert asked.final == WITHHELD["en"] and asked.citations == []
    for text in asked.texts():
        assert "违禁" not in text and "FORBID" not in text
    withheld = _counted(http)[("answer", "withheld")] - counted.get(("answer", "withheld"), 0)
    assert withheld == 1


def test_a_chinese_answer_is_screened_in_chinese(
    withholding: tuple[httpx.Client, FakeOpenAI],
) -> None:
    http, upstream = withholding
    upstream.reply_with(Answer(("备份复制到杭州 [1]。", "另外，敏感", "话题不谈。")))
    asked = ask(http, "ops", ZH, "query-sse")
    assert asked.final == WITHHELD["zh"] and "话题" not in asked.streamed


def test_no_list_means_nothing_is_built_or_checked(tmp_path: Path) -> None:
    assert ContentSafety.from_settings(make_settings(tmp_path)) is None
    empty = tmp_path / "empty.txt"
    empty.write_text("# only a comment\n\n   \n", encoding="utf-8")
    quiet = make_settings(
        tmp_path,
        content_safety_lists=str(empty),
        content_safety_collection_lists={"ops": [str(empty)]},
    )
    assert ContentSafety.from_settings(quiet) is None


def test_collection_lists_are_read_from_json_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _lists(tmp_path)
    monkeypatch.setenv(
        "ZHIKU_CONTENT_SAFETY_COLLECTION_LISTS", f'{{"secret": ["{paths["secret.txt"]}"]}}'
    )
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    safety = ContentSafety.from_settings(settings)
    assert safety is not None and safety.words("ops") is None
    words = safety.words("secret")
    assert words is not None and [m.term for m in words.find("项目代号是什么")] == ["项目代号"]


def test_matches_map_back_to_the_original_text() -> None:
    words = WordList(["敏感话题", "forbidden phrase"])
    text = "这是敏\u200b感话题，ＦＯＲＢＩＤＤＥＮ phrase！"
    found = [(text[m.start : m.end], m.term) for m in words.find(text)]
    assert found == [
        ("敏\u200b感话题", "敏感话题"),
        ("ＦＯＲＢＩＤＤＥＮ phrase", "forbidden phrase"),
    ]


def test_a_listed_term_in_the_history_a_client_sends_is_refused_too(
    masking: tuple[httpx.Client, FakeOpenAI],
) -> None:
    http, _ = masking
    history = [
        {"role": "user", "content": "Tell me about the forbidden phrase."},
        {"role": "assistant", "content": "I cannot."},
        {"role": "user", "content": EN},
    ]
    chat = http.post("/api/collections/ops/chat", json={"messages": history})
    v1 = http.post("/v1/chat/completions", json={"model": "ops", "messages": history})
    for response in (chat, v1):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "content_refused"
