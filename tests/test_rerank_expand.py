"""The optional cross-encoder reranker and the query expansions of a generative backend, with
a real cross-encoder (the default model's weights under a fresh scoring head, saved as a
local model folder) and a real OpenAI-compatible server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.answer.assembly import Answering
from core.answer.expand import HYDE, MULTI
from core.catalog.records import Collection
from core.embedding.sentence_transformer import resolve_model_path
from tests.conftest import drain
from tests.llm_server import Answer, Fail, FakeOpenAI
from tests.nodes import Node

DOCS = {
    "lighthouse.md": "# Places\n\nThe flibbertigibbet sleeps in the old lighthouse by the pier.",
    "quokka.md": "# Animals\n\nThe quokka is a small marsupial with a round face.",
    "harbour.md": "# Harbour\n\nFishing boats leave the harbour before dawn every day.",
}


def _ingest(node: Node) -> Collection:
    collection = node.operations.open_collection("kb")
    for name, text in DOCS.items():
        node.add_bytes(collection, name, text.encode())
    drain(node)
    return collection


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sentence_transformers import CrossEncoder

    folder = tmp_path_factory.mktemp("cross-encoder")
    CrossEncoder(str(resolve_model_path("all-MiniLM-L6-v2")), num_labels=1).save(str(folder))
    return folder


def test_the_reranker_orders_candidates_by_the_cross_encoders_scores(
    node_factory: Callable[..., Node], cross_encoder: Path
) -> None:
    from sentence_transformers import CrossEncoder

    question = "Where does the flibbertigibbet sleep?"
    plain_node = node_factory()
    collection = _ingest(plain_node)
    plain = Answering(plain_node.settings, plain_node.resources)
    candidates = plain.service.prepare(collection, question, top_k=3).retrieval.chunks
    scores = CrossEncoder(str(cross_encoder)).predict(
        [(question, c.chunk.text) for c in candidates]
    )
    expected = [
        c.chunk.id for _, c in sorted(zip(scores, candidates, strict=True), key=lambda p: -p[0])
    ][:2]

    settings = plain_node.settings.model_copy(
        update={"rerank_model": str(cross_encoder), "rerank_candidates": 3}
    )
    reranked = Answering(settings, plain_node.resources).service.prepare(
        collection, question, top_k=2
    )
    assert [c.chunk.id for c in reranked.retrieval.chunks] == expected
    assert {c.chunk.id for c in candidates} >= set(expected)


def _top_document(node: Node, collection: Collection, **overrides: Any) -> tuple[str, Any]:
    settings = node.settings.model_copy(update=overrides)
    answering = Answering(settings, node.resources)

    async def ask() -> Any:
        try:
            return await answering.service.prepare_async(
                collection, "Where does the quokka rest?", top_k=1
            )
        finally:
            await answering.aclose()

    prepared = asyncio.run(ask())
    top = prepared.retrieval.chunks[0].chunk.document_id
    return node.catalog.get_document(collection.id, top).filename, prepared


@pytest.mark.parametrize("mode", ["multi", "hyde"])
def test_an_expansion_reaches_passages_the_question_alone_misses(
    node_factory: Callable[..., Node], mode: str
) -> None:
    node = node_factory()
    collection = _ingest(node)
    expansion = (
        "flibbertigibbet sleeps lighthouse\nold lighthouse pier sleeping place\n"
        if mode == "multi"
        else "The flibbertigibbet sleeps in a lighthouse near the pier."
    )
    with FakeOpenAI(script=[Answer((expansion,))]) as server:
        common = {
            "llm_backend": "openai",
            "llm_base_url": server.base_url,
            "llm_model": "fake-model",
            "llm_max_retries": 0,
        }
        alone, _ = _top_document(node, collection, **common)
        expanded, prepared = _top_document(node, collection, query_expansion=mode, **common)
        system = server.completions[0].body["messages"][0]["content"]
    assert alone == "quokka.md" and expanded == "lighthouse.md"
    assert system == (MULTI.format(count=3) if mode == "multi" else HYDE)
    assert len(server.completions) == 1  # only the expanded run asked the backend
    assert "expand_ms" in prepared.timings


def test_a_failing_expansion_falls_back_to_the_question(
    node_factory: Callable[..., Node],
) -> None:
    node = node_factory()
    collection = _ingest(node)
    with FakeOpenAI(script=[Fail(500)]) as server:
        top, prepared = _top_document(
            node,
            collection,
            llm_backend="openai",
            llm_base_url=server.base_url,
            llm_model="fake-model",
            llm_max_retries=0,
            query_expansion="multi",
        )
    assert top == "quokka.md" and "expand_ms" not in prepared.timings


def test_the_extractive_backend_never_expands(node_factory: Callable[..., Node]) -> None:
    node = node_factory()
    collection = _ingest(node)
    top, prepared = _top_document(node, collection, query_expansion="hyde")
    assert top == "quokka.md" and "expand_ms" not in prepared.timings
