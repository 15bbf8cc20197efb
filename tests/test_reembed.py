"""Changing a collection's embedding model without a wipe, in one process: MiniLM to
multilingual-e5-small, with queries answered before, during and after, a document added
meanwhile, a stop and a resume, and a cancel that leaves the old model in place."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

import ingest.reembed
from core.catalog.records import Collection
from core.errors import Conflict, EmbeddingModelMismatch, NotFound
from core.retrieval.search import Searcher
from core.stores import space_for
from ingest.reembed import Reembedder
from tests.conftest import drain
from tests.nodes import Node

E5 = "multilingual-e5-small"
# Named, so the tests hold whichever model is the default.
MINILM = "all-MiniLM-L6-v2"

# One short chunk each: the multilingual model embeds a few passages a second here.
DOCUMENTS = {
    "backup.txt": "备份每天晚上复制到第二个数据中心。",
    "menu.txt": "这家餐厅的招牌菜是红烧肉和清蒸鱼。",
    "trains.txt": "The night train to the coast leaves from platform nine.",
    "garden.txt": "Tomatoes need full sun and water every other day.",
}
ADDED = ("late.txt", "新员工入职第一天需要领取门禁卡。")
# No word of the passage: only a model that reads Chinese finds it.
PARAPHRASE = "数据的副本什么时候送到另一个机房？"


@pytest.fixture(autouse=True)
def one_chunk_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of one, so a re-embedding can be caught half-way."""
    monkeypatch.setattr(ingest.reembed, "REEMBED_BATCH", 1)


def _collection(node: Node) -> Collection:
    collection = node.operations.open_collection("kb")
    for name, text in DOCUMENTS.items():
        node.add_bytes(collection, name, text.encode())
    drain(node)
    return node.catalog.get_collection("kb")


def _searcher(node: Node) -> Searcher:
    r = node.resources
    return Searcher(r.catalog, r.store, r.embedder, r.embedder_for)


def _top_file(node: Node, question: str) -> str:
    collection = node.catalog.get_collection("kb")
    hits = _searcher(node).dense(collection, question, 3)
    assert hits, "dense retrieval found nothing"
    return node.catalog.get_document(collection.id, hits[0].chunk.document_id).filename


class StopAfter(threading.Event):
    """A stop that comes after `batches` batches: the re-embedder asks before each one."""

    def __init__(self, batches: int) -> None:
        super().__init__()
        self._left = batches

    def is_set(self) -> bool:
        self._left -= 1
        return self._left < 0


def test_reembedding_switches_at_the_end_keeps_a_stopped_batch_and_takes_documents_added_meanwhile(
    node_factory: Callable[..., Node], catalog_url: str | None
) -> None:
    node = node_factory(embedding_model=MINILM)
    before = _collection(node)
    old_space = before.space
    assert before.embedding_model == MINILM and old_space == before.id
    started = node.operations.start_reembed(before, E5)
    assert (started.model, started.space, started.chunks_done) == (E5, space_for(before.id, E5), 0)
    with pytest.raises(Conflict):
        node.operations.start_reembed(before, E5)

    reembedder = Reembedder(node.resources, "test-worker")
    assert reembedder.run_once(StopAfter(2))
    halfway = node.catalog.get_reembed(before.id)
    assert halfway is not None and (halfway.chunks_done, halfway.chunks_total) == (2, 4)
    # Nothing switched: the old model and space answer, the new space holds what was done.
    during = node.catalog.get_collection("kb")
    assert (during.embedding_model, during.space) == (before.embedding_model, old_space)
    assert _top_file(node, "When does the night train leave?") == "trains.txt"
    assert len(node.store.ids(started.space)) == halfway.chunks_done

    # A document added meanwhile is embedded with the old model and found at once...
    node.add_bytes(during, *(a.encode() if i else a for i, a in enumerate(ADDED)))
    drain(node)
    assert _top_file(node, ADDED[1]) == ADDED[0]
    resumed = node.catalog.get_reembed(before.id)
    assert resumed is not None and resumed.chunks_total == halfway.chunks_total + 1
    # A document deleted meanwhile, already re-embedded (batches go in chunk order), leaves
    # both spaces.
    [menu] = _chunks(node, during, "menu.txt")
    assert menu.id in node.store.ids(started.space) and menu.id in node.store.ids(old_space)
    node.operations.delete_document(before.id, menu.document_id)
    assert menu.id not in node.store.ids(started.space) | node.store.ids(old_space)

    # ...and re-embedded before the switch; the stopped attempt's vectors are kept.
    assert reembedder.run_once()
    after = node.catalog.get_collection("kb")
    assert (after.embedding_model, after.space) == (E5, started.space)
    assert node.catalog.get_reembed(before.id) is None
    assert node.store.ids(old_space) == set()
    assert len(node.store.ids(after.space)) == after.chunks == len(DOCUMENTS)
    assert _top_file(node, PARAPHRASE) == "backup.txt"
    assert _top_file(node, "新员工第一天要拿什么？") == ADDED[0]
    # Documents added after the switch are embedded with the collection's new model.
    node.add_bytes(after, "dogs.txt", "狗每天需要散步两次。".encode())
    drain(node)
    assert _top_file(node, "我的小狗一天该出去遛几回？") == "dogs.txt"
    assert node.store.ids(after.space) >= {c.id for c in _chunks(node, after, "dogs.txt")}


def _chunks(node: Node, collection: Collection, filename: str) -> list:  # type: ignore[type-arg]
    document = next(d for d in node.catalog.list_documents(collection.id) if d.filename == filename)
    return node.catalog.document_chunks(collection.id, document.id)


def test_a_cancelled_reembedding_leaves_the_old_model_and_space_untouched(
    node_factory: Callable[..., Node], catalog_url: str | None
) -> None:
    node = node_factory(embedding_model=MINILM)
    before = _collection(node)
    started = node.operations.start_reembed(before, E5)
    reembedder = Reembedder(node.resources, "test-worker")
    assert reembedder.run_once(StopAfter(1))

    cancelled = node.operations.cancel_reembed(before)

    assert cancelled.model == E5
    after = node.catalog.get_collection("kb")
    assert (after.embedding_model, after.space) == (before.embedding_model, before.space)
    assert node.catalog.get_reembed(before.id) is None
    assert node.store.ids(started.space) == set()
    assert len(node.store.ids(before.space)) == len(DOCUMENTS)
    assert not reembedder.run_once()
    assert _top_file(node, "When does the night train leave?") == "trains.txt"
    with pytest.raises(NotFound):
        node.operations.cancel_reembed(before)
    # Started again, it begins from nothing and finishes.
    again = node.operations.start_reembed(after, E5)
    assert again.chunks_done == 0
    assert reembedder.run_once()
    assert node.catalog.get_collection("kb").embedding_model == E5


def test_a_model_this_process_cannot_open_or_the_same_model_is_refused(
    node_factory: Callable[..., Node],
) -> None:
    node = node_factory(embedding_model=MINILM)
    collection = _collection(node)
    with pytest.raises(EmbeddingModelMismatch):
        node.operations.start_reembed(collection, "no-such-model-anywhere")
    with pytest.raises(Conflict):
        node.operations.start_reembed(collection, collection.embedding_model)
    assert node.catalog.get_reembed(collection.id) is None
