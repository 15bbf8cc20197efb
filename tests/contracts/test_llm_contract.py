"""What every LLM backend must do through the Protocol, run on each one in LLMS: a label and a
flag, an answer streamed as text deltas, an early close, a second `aclose`, and a prompt with
no passages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from core.answer.vocabulary import ChatMessage, Passage, Prompt
from core.llm import LLMS
from core.llm.protocol import LLM
from tests.conftest import make_settings, passage
from tests.llm_server import Answer, FakeOpenAI, leave_early

QUESTION = "How does Zhiku answer questions, and what does it cite?"
PASSAGES = [
    passage(1, "Zhiku answers questions from your own documents.", "d1", "guide.md", None),
    passage(2, "Every answer cites the passages it quotes.", "d2", "citations.pdf", 3, ("Cite",)),
]


def prompt(passages: list[Passage]) -> Prompt:
    return Prompt(
        messages=[
            ChatMessage("system", "Answer only from the numbered passages."),
            ChatMessage("user", QUESTION),
        ],
        question=QUESTION,
        passages=passages,
    )


SERVER_DELTAS = ("Zhiku", " answers", " from your documents", " [1].")


@dataclass(frozen=True)
class Backend:
    key: str
    make: Callable[[], LLM]
    answer: str | None
    """What it answers to `prompt(PASSAGES)`, where that is known in advance."""


@contextlib.contextmanager
def extractive(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    settings = make_settings(tmp_path, llm_backend="extractive")
    answer = (
        "Zhiku answers questions from your own documents. [1] "
        "Every answer cites the passages it quotes. [2]"
    )
    yield Backend("extractive", lambda: LLMS.create("extractive", settings), answer)


@contextlib.contextmanager
def openai(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with FakeOpenAI(then=Answer(SERVER_DELTAS)) as server:
        settings = make_settings(
            tmp_path,
            llm_backend="openai",
            llm_base_url=server.base_url,
            llm_model="fake-model",
            llm_timeout_seconds=5,
        )
        yield Backend("openai", lambda: LLMS.create("openai", settings), "".join(SERVER_DELTAS))


@contextlib.contextmanager
def local(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    folder = request.getfixturevalue("tiny_models")["chat_template"]
    settings = make_settings(
        tmp_path, llm_backend="local", llm_model=str(folder), llm_max_tokens=8, llm_temperature=0
    )
    # A random model: what it says is unknown, but it says it token by token.
    yield Backend("local", lambda: LLMS.create("local", settings), None)


BACKENDS = {"extractive": extractive, "openai": openai, "local": local}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with BACKENDS[request.param](request, tmp_path) as built:
        yield built


async def deltas(llm: LLM, asked: Prompt) -> list[str]:
    return [delta async for delta in llm.stream(asked)]


def test_every_registered_llm_backend_runs_this_contract() -> None:
    skipped = sorted(set(LLMS.keys()) - set(BACKENDS))
    assert not skipped, f"LLM backends this contract never runs: {skipped}"


def test_the_backend_label_names_its_kind_and_generative_is_a_flag(backend: Backend) -> None:
    llm = backend.make()
    try:
        assert type(llm) is LLMS.load(backend.key)
        assert isinstance(llm.backend, str)
        assert llm.backend.split(":")[0] == backend.key
        assert isinstance(llm.generative, bool)
    finally:
        asyncio.run(llm.aclose())


def test_the_answer_streams_as_text_deltas_that_join_into_it(backend: Backend) -> None:
    async def answer_twice() -> tuple[list[str], list[str]]:
        llm = backend.make()
        try:
            return await deltas(llm, prompt(PASSAGES)), await deltas(llm, prompt(PASSAGES))
        finally:
            await llm.aclose()

    first, again = asyncio.run(answer_twice())
    assert first and all(isinstance(d, str) and d for d in first)
    answer = "".join(first)
    assert answer.strip()
    if backend.answer is not None:
        assert answer == backend.answer
    # Every backend here answers deterministically (temperature 0, a scripted server).
    assert "".join(again) == answer


@pytest.mark.parametrize("how", ["aclose", "cancel"])
def test_leaving_an_answer_early_is_allowed_and_the_backend_still_answers(
    backend: Backend, how: str
) -> None:
    async def leave_early_then_ask_again() -> str:
        llm = backend.make()
        try:
            stream = cast(AsyncGenerator[str, None], llm.stream(prompt(PASSAGES)))
            assert await leave_early(stream, how)
            return "".join(await deltas(llm, prompt(PASSAGES)))
        finally:
            await llm.aclose()

    answer = asyncio.run(leave_early_then_ask_again())
    assert answer.strip()
    if backend.answer is not None:
        assert answer == backend.answer


def test_aclose_may_be_called_again_and_on_an_unused_backend(backend: Backend) -> None:
    async def close_twice() -> None:
        unused, used = backend.make(), backend.make()
        await deltas(used, prompt(PASSAGES))
        for llm in (unused, used):
            await llm.aclose()
            await llm.aclose()

    asyncio.run(close_twice())


def test_a_prompt_without_passages_still_gets_an_answer(backend: Backend) -> None:
    async def ask() -> list[str]:
        llm = backend.make()
        try:
            return await deltas(llm, prompt([]))
        finally:
            await llm.aclose()

    answer = asyncio.run(ask())
    assert answer and all(isinstance(d, str) and d for d in answer)
    assert "".join(answer).strip()
