"""Conversations over the shared documents, through the chat API (issue 19).

Two measures, one JSON line each per backend:
- `sequence`: the questions of qa/pdf_qa.jsonl asked one after another in one conversation
  must score what each scores when asked alone (an answerable question: its answer in the
  answer text; an unanswerable one: "not in the documents").
  `retrieved`: the answer is in a passage retrieved for it.
- `follow_ups`: each pair of bench/data/multiturn/follow_ups.jsonl in a conversation of its
  own; the second question's answer must be in the answer text (`answered`) and in the
  passages retrieved for it (`retrieved`). `alone_*` asks the second question without its
  first, the floor a resolution must rise above. Rows per language and per split (`tune` is
  tuned on, `test` is not).

With `--llm loopback` the answer backend is an OpenAI-compatible server on loopback that
rewrites a follow-up as the pair's hand-written standalone question and answers with the first
passage's opening: it measures what retrieval gives a generative backend after a good rewrite
(`retrieved`), and counts the rewrites asked for on questions that stand alone.

    python -m bench.multiturn [--data-dir DIR] [--split tune|test|all] [--llm loopback]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import uvicorn
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sse_starlette import EventSourceResponse

from app.main import create_app
from core.answer.condense import REWRITE
from core.errors import NotFound
from core.evaluation.scoring import normalized
from core.resources import Resources
from core.settings import Settings
from ingest.lifecycle import WorkerThread
from ingest.operations import Operations

HERE = Path(__file__).parent
FOLLOW_UPS = HERE / "data" / "multiturn" / "follow_ups.jsonl"
COLLECTION = "shared"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def shared_files(shared: Path) -> list[Path]:
    return sorted(p for folder in ("pdfs", "docs") for p in (shared / folder).glob("*.*"))


def ensure_ingested(settings: Settings, files: list[Path]) -> None:
    """Every shared document ready in `COLLECTION`; a data directory from an earlier run is
    reused as it is."""
    resources = Resources(settings)
    try:
        operations = Operations(resources)
        try:
            collection = resources.catalog.get_collection(COLLECTION)
            documents = resources.catalog.list_documents(collection.id)
        except NotFound:
            documents = []
        if len(documents) == len(files) and all(d.status == "ready" for d in documents):
            log(f"reusing {settings.data_dir}")
            return
        started = time.monotonic()
        collection = operations.open_collection(COLLECTION)
        operations.add_paths(collection, files)
        worker = WorkerThread(resources, operations)
        worker.parse_pool.start()
        while worker.worker.run_once():
            pass
        worker.stop()
        log(f"{len(files)} documents ingested in {time.monotonic() - started:.0f} s")
    finally:
        resources.close()


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str | None
    standalone: str | None = None


def contains(wanted: str, text: str) -> bool:
    return normalized(wanted) in normalized(text)


def correct(turn: Turn, reply: dict[str, Any]) -> bool:
    if turn.answer is None:
        return bool(reply["abstained"])
    return not reply["abstained"] and contains(turn.answer, reply["answer"])


def retrieved(turn: Turn, reply: dict[str, Any]) -> bool:
    return turn.answer is not None and any(
        contains(turn.answer, c["text"]) for c in reply["chunks"]
    )


class Chat:
    def __init__(self, client: TestClient) -> None:
        self._client = client

    def ask(self, turns: list[Turn]) -> list[dict[str, Any]]:
        """The turns asked in one new conversation; the reply to each."""
        replies: list[dict[str, Any]] = []
        conversation: str | None = None
        for turn in turns:
            body: dict[str, Any] = {"messages": [{"role": "user", "content": turn.question}]}
            if conversation:
                body["conversation_id"] = conversation
            response = self._client.post(f"/api/collections/{COLLECTION}/chat", json=body)
            response.raise_for_status()
            reply = response.json()
            conversation = reply["conversation_id"]
            replies.append(reply)
        return replies


def sequence(chat: Chat, shared: Path, answers: bool) -> dict[str, Any]:
    lines = (shared / "qa" / "pdf_qa.jsonl").read_text(encoding="utf-8").splitlines()
    turns = [Turn(d["question"], d.get("answer")) for d in map(json.loads, lines)]
    alone = [chat.ask([t])[0] for t in turns]
    together = chat.ask(turns)
    line: dict[str, Any] = {"measure": "sequence", "questions": len(turns)}
    scores = {"retrieved": retrieved, **({"correct": correct} if answers else {})}
    for name, scored in scores.items():
        before = [scored(t, r) for t, r in zip(turns, alone, strict=True)]
        after = [scored(t, r) for t, r in zip(turns, together, strict=True)]
        line[f"alone_{name}"] = sum(before)
        line[f"in_sequence_{name}"] = sum(after)
        line[f"{name}_changed"] = sum(a != b for a, b in zip(before, after, strict=True))
    return line


def load_pairs(split: str) -> list[dict[str, Any]]:
    pairs = [json.loads(line) for line in FOLLOW_UPS.read_text(encoding="utf-8").splitlines()]
    return [p for p in pairs if split == "all" or p["split"] == split]


def follow_ups(chat: Chat, pairs: list[dict[str, Any]], answers: bool) -> dict[str, Any]:
    rows: dict[str, dict[str, int]] = {}
    for pair in pairs:
        first, second = (Turn(t["question"], t["answer"]) for t in pair["turns"])
        replies = chat.ask([first, second])
        alone = chat.ask([second])[0]
        scores = {
            "retrieved": retrieved(second, replies[1]),
            "alone_retrieved": retrieved(second, alone),
        }
        if answers:
            scores |= {
                "first_answered": correct(first, replies[0]),
                "answered": correct(second, replies[1]),
                "alone_answered": correct(second, alone),
            }
        for group in ("all", pair["language"], pair["split"]):
            row = rows.setdefault(group, {"pairs": 0})
            row["pairs"] += 1
            for name, value in scores.items():
                row[name] = row.get(name, 0) + value
    return {"measure": "follow_ups", **{k: v for k, v in sorted(rows.items())}}


class LoopbackLLM:
    """An OpenAI-compatible chat-completions server on 127.0.0.1 that streams its replies."""

    def __init__(self, rewrites: dict[str, str]) -> None:
        self.rewrites = rewrites
        self.rewrite_requests = 0
        app = FastAPI()
        app.post("/v1/chat/completions")(self._complete)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    async def _complete(self, request: Request) -> EventSourceResponse:
        messages = (await request.json())["messages"]
        if messages[0]["content"] == REWRITE:
            # Counted: a question that stands alone must not be sent to be rewritten.
            self.rewrite_requests += 1
            asked = messages[-1]["content"].rsplit("user: ", 1)[-1].strip()
            text = self.rewrites.get(asked, asked)
        else:
            text = "[1]"

        async def events() -> AsyncIterator[str]:
            delta = {"choices": [{"index": 0, "delta": {"content": text}}]}
            yield json.dumps(delta, ensure_ascii=False)
            yield json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            yield "[DONE]"

        return EventSourceResponse(events())

    @contextmanager
    def running(self) -> Iterator[str]:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.05)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            self._server.should_exit = True
            self._thread.join(timeout=10)


def run(settings: Settings, shared: Path, pairs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    # The loopback server's answers are not answers: only what it was given is measured.
    answers = settings.llm_backend == "extractive"
    with TestClient(create_app(settings)) as client:
        chat = Chat(client)
        yield sequence(chat, shared, answers)
        yield follow_ups(chat, pairs, answers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="kept and reused between runs")
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--split", choices=("tune", "test", "all"), default="all")
    parser.add_argument("--llm", choices=("extractive", "loopback"), default="extractive")
    args = parser.parse_args(argv)
    shared = Path(os.environ.get("SHARED_DATA_DIR", args.shared))
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="zhiku-multiturn-"))
    base: dict[str, Any] = {"data_dir": data_dir, "rate_limit": "0", "auth_failure_limit": "0"}
    ensure_ingested(Settings(_env_file=None, **base), shared_files(shared))  # type: ignore[call-arg]
    pairs = load_pairs(args.split)
    common = {"backend": args.llm, "split": args.split}
    if args.llm == "extractive":
        settings = Settings(_env_file=None, **base)  # type: ignore[call-arg]
        for line in run(settings, shared, pairs):
            print(json.dumps({**common, **line}, ensure_ascii=False), flush=True)
        return
    rewrites = {p["turns"][1]["question"]: p["turns"][1]["standalone"] for p in pairs}
    llm = LoopbackLLM(rewrites)
    with llm.running() as url:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, llm_backend="openai", llm_base_url=url, llm_model="loopback", **base
        )
        for line in run(settings, shared, pairs):
            if line["measure"] == "sequence":
                line["rewrites_asked"] = llm.rewrite_requests
            print(json.dumps({**common, **line}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
