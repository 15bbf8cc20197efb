"""The vector store contract, run on every backend of VECTOR_STORES: embedded Chroma, a real
`chroma run` server, and Milvus through milvus-lite (pymilvus's gRPC client, as with a cluster)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from core.errors import BackendUnavailable, EmbeddingModelMismatch
from core.ownership import owner_required
from core.settings import Settings
from core.stores import VECTOR_STORES, open_vector_store, space_for
from core.stores.protocol import VectorMeta, VectorStore
from tests.conftest import make_settings

MODEL = "test-model"
DIM = 8

StoreFactory = Callable[[], VectorStore]


@dataclass(frozen=True)
class Backend:
    key: str  # ZHIKU_VECTOR_STORE
    single_process: bool  # whether the data directory needs one owner
    server: str | None = None  # the fixture giving the server's URL, and its setting


BACKENDS = {
    "chroma-embedded": Backend("chroma", single_process=True),
    "chroma-server": Backend("chroma", single_process=False, server="chroma_url"),
    "milvus-lite": Backend("milvus", single_process=True),
}


def test_every_registered_vector_store_runs_the_contract() -> None:
    assert {b.key for b in BACKENDS.values()} == set(VECTOR_STORES.keys())


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Backend, Settings]:
    """The backend and settings of a store in one place: one data directory or one server."""
    chosen = BACKENDS[request.param]
    overrides = {"vector_store": chosen.key}
    if chosen.server:
        overrides[chosen.server] = request.getfixturevalue(chosen.server)
    return chosen, make_settings(tmp_path / "data", **overrides)


@pytest.fixture
def new_store(backend: tuple[Backend, Settings]) -> Iterator[StoreFactory]:
    """Opens stores on the backend's one place, as several processes would."""
    _, settings = backend
    opened: list[VectorStore] = []

    def build() -> VectorStore:
        opened.append(open_vector_store(settings))
        return opened[-1]

    yield build
    for store in opened:
        store.close()


@pytest.fixture
def store(new_store: StoreFactory) -> VectorStore:
    return new_store()


@pytest.fixture
def collection_id(store: VectorStore) -> Iterator[str]:
    # Unique per test: a server outlives the test.
    found = uuid.uuid4().hex
    store.ensure_collection(found, MODEL)
    yield found
    store.drop_collection(found)


def test_the_store_says_whether_the_data_directory_needs_one_owner(
    backend: tuple[Backend, Settings],
) -> None:
    chosen, settings = backend
    assert VECTOR_STORES.load(chosen.key).single_process(settings) is chosen.single_process
    assert owner_required(settings) is chosen.single_process


def test_ping_answers_while_the_store_is_reachable(store: VectorStore) -> None:
    store.ping()


def _unit(*values: float) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(values)] = values
    norm: np.ndarray = vector / np.linalg.norm(vector)
    return norm


def _put(
    store: VectorStore, collection_id: str, document_id: str, rows: dict[str, np.ndarray]
) -> None:
    store.upsert(
        collection_id,
        list(rows),
        np.stack(list(rows.values())),
        [VectorMeta(document_id, page=1, seq=n) for n in range(len(rows))],
    )


def test_upsert_is_idempotent_and_replaces_by_id(store: VectorStore, collection_id: str) -> None:
    _put(store, collection_id, "d1", {"a": _unit(1), "b": _unit(0, 1)})
    _put(store, collection_id, "d1", {"a": _unit(1), "b": _unit(0, 1)})
    assert store.ids(collection_id) == {"a", "b"}

    _put(store, collection_id, "d1", {"b": _unit(0, 0, 1)})
    hits = store.query(collection_id, _unit(0, 0, 1), 2)
    assert [h.id for h in hits] == ["b", "a"]
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-5)


def test_query_returns_nearest_first_with_cosine_similarity(
    store: VectorStore, collection_id: str
) -> None:
    _put(store, collection_id, "d1", {"near": _unit(1, 0.1), "far": _unit(-1)})
    _put(store, collection_id, "d2", {"mid": _unit(1, 1)})

    hits = store.query(collection_id, _unit(1), 10)
    assert [h.id for h in hits] == ["near", "mid", "far"]
    assert hits[0].similarity > hits[1].similarity > hits[2].similarity
    assert hits[2].similarity == pytest.approx(-1.0, abs=1e-5)
    assert [h.id for h in store.query(collection_id, _unit(1), 1)] == ["near"]
    assert store.query(collection_id, _unit(1), 0) == []


def test_query_within_documents_returns_only_theirs(store: VectorStore, collection_id: str) -> None:
    _put(store, collection_id, "d1", {"near": _unit(1, 0.1), "far": _unit(-1)})
    _put(store, collection_id, "d2", {"mid": _unit(1, 1)})
    _put(store, collection_id, "d3", {"other": _unit(1, 0.2)})

    assert [h.id for h in store.query(collection_id, _unit(1), 10, ["d1"])] == ["near", "far"]
    # The filter applies before the limit: the nearest of d2 is found past nearer vectors.
    assert [h.id for h in store.query(collection_id, _unit(1), 1, ["d2"])] == ["mid"]
    assert [h.id for h in store.query(collection_id, _unit(1), 5, ["d2", "d3"])] == [
        "other",
        "mid",
    ]
    assert store.query(collection_id, _unit(1), 5, []) == []
    assert store.query(collection_id, _unit(1), 5, ["nope"]) == []


def test_query_of_a_missing_or_empty_collection_is_empty(
    store: VectorStore, collection_id: str
) -> None:
    assert store.query(collection_id, _unit(1), 5) == []
    assert store.query(uuid.uuid4().hex, _unit(1), 5) == []
    assert store.ids(uuid.uuid4().hex) == set()


def test_delete_document_removes_only_its_vectors(store: VectorStore, collection_id: str) -> None:
    _put(store, collection_id, "d1", {"a": _unit(1), "b": _unit(0, 1)})
    _put(store, collection_id, "d2", {"c": _unit(1, 1)})

    store.delete_document(collection_id, "d1")
    assert store.ids(collection_id) == {"c"}
    store.delete_document(collection_id, "d1")
    store.delete_document(uuid.uuid4().hex, "d1")
    assert [h.id for h in store.query(collection_id, _unit(1), 5)] == ["c"]


def test_delete_ids_removes_exactly_those(store: VectorStore, collection_id: str) -> None:
    _put(store, collection_id, "d1", {"a": _unit(1), "b": _unit(0, 1), "c": _unit(1, 1)})
    store.delete_ids(collection_id, ["a", "c", "never-stored"])
    assert store.ids(collection_id) == {"b"}


def test_another_embedding_model_is_refused_in_any_process(
    new_store: StoreFactory, store: VectorStore, collection_id: str
) -> None:
    with pytest.raises(EmbeddingModelMismatch):
        store.ensure_collection(collection_id, "another-model")
    # A process that has not seen the collection yet reads the model from the store.
    with pytest.raises(EmbeddingModelMismatch):
        new_store().ensure_collection(collection_id, "another-model")
    new_store().ensure_collection(collection_id, MODEL)


def test_a_second_space_of_another_model_lives_beside_the_first_and_drops_alone(
    new_store: StoreFactory, store: VectorStore, collection_id: str
) -> None:
    """A re-embedding fills a space named for the new model while queries read the old one."""
    _put(store, collection_id, "d1", {"a": _unit(1), "b": _unit(0, 1)})
    space = space_for(collection_id, "another-model")
    assert space != collection_id
    store.ensure_collection(space, "another-model")
    _put(store, space, "d1", {"a": _unit(0, 1), "b": _unit(1)})

    assert [h.id for h in store.query(collection_id, _unit(1), 1)] == ["a"]
    assert [h.id for h in new_store().query(space, _unit(1), 1)] == ["b"]
    store.delete_document(space, "d1")
    assert store.ids(space) == set() and store.ids(collection_id) == {"a", "b"}
    store.drop_collection(collection_id)
    assert new_store().ids(collection_id) == set()
    _put(store, space, "d2", {"c": _unit(1)})
    assert store.ids(space) == {"c"}
    store.drop_collection(space)


def test_drop_collection_removes_everything_and_tolerates_a_missing_one(
    new_store: StoreFactory, store: VectorStore
) -> None:
    collection_id = uuid.uuid4().hex
    store.ensure_collection(collection_id, MODEL)
    _put(store, collection_id, "d1", {"a": _unit(1)})
    assert new_store().ids(collection_id) == {"a"}

    store.drop_collection(collection_id)
    assert store.ids(collection_id) == set()
    assert store.query(collection_id, _unit(1), 5) == []
    store.drop_collection(collection_id)
    # Created again, it starts empty.
    store.ensure_collection(collection_id, MODEL)
    assert store.ids(collection_id) == set()
    store.drop_collection(collection_id)


def test_upsert_into_a_missing_collection_is_an_error(store: VectorStore) -> None:
    with pytest.raises(BackendUnavailable):
        _put(store, uuid.uuid4().hex, "d1", {"a": _unit(1)})


def test_upsert_of_more_than_one_batch_keeps_every_vector(
    store: VectorStore, collection_id: str
) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((2500, DIM)).astype(np.float32)
    ids = [f"c{n}" for n in range(len(vectors))]
    store.upsert(collection_id, ids, vectors, [VectorMeta("d1", None, n) for n in range(len(ids))])
    assert store.ids(collection_id) == set(ids)


def test_a_store_opened_again_keeps_its_vectors_and_model(
    backend: tuple[Backend, Settings],
) -> None:
    _, settings = backend
    collection_id = uuid.uuid4().hex
    first = open_vector_store(settings)
    first.ensure_collection(collection_id, MODEL)
    _put(first, collection_id, "d1", {"a": _unit(1), "b": _unit(0, 1)})
    first.close()

    again = open_vector_store(settings)
    try:
        assert again.ids(collection_id) == {"a", "b"}
        assert [h.id for h in again.query(collection_id, _unit(0, 1), 1)] == ["b"]
        with pytest.raises(EmbeddingModelMismatch):
            again.ensure_collection(collection_id, "another-model")
    finally:
        again.drop_collection(collection_id)
        again.close()
