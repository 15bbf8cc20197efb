"""The extractive backend's answers over real PDFs, through the HTTP API: streamed a sentence
at a time into the same text as the whole answer, quoting sentences without the page's
running headers, and citing each sentence by where it is in the chunk's text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from core.answer.quotes import one_line
from tests.conftest import make_settings, upload_and_wait

PDFS = ("en-geobase-nhn-data-model.pdf", "en-google-doc-example.pdf")
DRAFT = "When was Draft 01 of the National Hydro Network data model produced?"
ZEN = "According to the example Google Docs document, what is better than ugly?"
_CITED = re.compile(r"(.+?)\s\[(\d+)\]")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("extractive") / "data")
    with TestClient(create_app(settings)) as test_client:
        for name in PDFS:
            data = (shared_data / "pdfs" / name).read_bytes()
            assert upload_and_wait(test_client, "kb", name, data)["state"] == "done"
        yield test_client


def _events(client: TestClient, path: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    with client.stream("POST", path, json={**body, "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        blocks = response.read().decode().split("\n\n")
    events = []
    for block in blocks:
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines and lines["data"] != "[DONE]":
            events.append((lines.get("event", "message"), json.loads(lines["data"])))
    return events


@pytest.mark.parametrize("question", [DRAFT, ZEN])
def test_a_streamed_answer_comes_a_sentence_at_a_time_and_joins_to_the_whole_answer(
    client: TestClient, question: str
) -> None:
    whole = client.post("/api/collections/kb/query", json={"question": question}).json()
    assert not whole["abstained"] and len(_CITED.findall(whole["answer"])) >= 2

    events = _events(client, "/api/collections/kb/query", {"question": question})
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) >= len(_CITED.findall(whole["answer"]))
    assert "".join(deltas) == whole["answer"]
    assert next(data for name, data in events if name == "citations")["answer"] == whole["answer"]

    chat = {"model": "kb", "messages": [{"role": "user", "content": question}]}
    completion = client.post("/v1/chat/completions", json=chat).json()
    content = completion["choices"][0]["message"]["content"]
    streamed = [
        data["choices"][0]["delta"].get("content") or ""
        for _, data in _events(client, "/v1/chat/completions", chat)
    ]
    pieces = [p for p in streamed if p and not p.startswith("\n\nSources:")]
    assert len(pieces) >= len(_CITED.findall(whole["answer"]))
    assert "".join(streamed) == content
    assert content.startswith(whole["answer"] + "\n\nSources:")


def test_the_running_header_of_each_page_is_in_no_answer(client: TestClient) -> None:
    question = (
        "When was Draft 01 of the National Hydro Network data model, the first draft for"
        " discussion with Nova Scotia, produced?"
    )
    body = client.post("/api/collections/kb/query", json={"question": question}).json()
    answer = body["answer"]
    # The revision history's row, a table row to a line.
    assert "September 2002 | Draft 01 | First draft for discussion with Nova Scotia" in answer
    # "National Hydro Network, Data Model – Edition 1.0 2004-06" and "GeoBase® iii" head every
    # page of this PDF: ingestion leaves them out of its chunks, so no answer can quote them.
    assert body["chunks"] and not any("Edition 1.0 2004" in c["text"] for c in body["chunks"])
    assert "GeoBase" not in answer and "Edition 1.0" not in answer
    assert "\n" not in answer


@pytest.mark.parametrize("question", [DRAFT, ZEN])
def test_each_citation_marker_points_at_the_sentence_it_quotes(
    client: TestClient, question: str
) -> None:
    body = client.post("/api/collections/kb/query", json={"question": question}).json()
    chunks = {c["n"]: c["text"] for c in body["chunks"]}
    # "Example document [1] Beautiful is better than ugly. [1]": the first [1] cites the title.
    uses: dict[int, list[str]] = {}
    for sentence, n in _CITED.findall(body["answer"]):
        uses.setdefault(int(n), []).append(sentence.strip())
    assert body["citations"]
    for citation in body["citations"]:
        text = chunks[citation["n"]]
        quoted = [text[start:end] for start, end in citation["spans"]]
        assert [one_line(q) for q in quoted] == uses[citation["n"]]
