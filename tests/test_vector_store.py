"""Vector stores beyond their contract (tests/contracts): their settings, start-up errors,
ingestion with several processes sharing a Chroma server, and a document answered through
Milvus."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.chroma_server import free_port
from core.embedding import Embedder
from core.errors import BackendUnavailable, ConfigError
from core.retrieval.search import Searcher
from core.stores import open_vector_store
from tests.conftest import drain, make_settings
from tests.nodes import Node


def test_an_unknown_vector_store_is_a_config_error_naming_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="chroma, milvus"):
        open_vector_store(make_settings(tmp_path, vector_store="faiss"))


def test_a_malformed_chroma_url_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ZHIKU_CHROMA_URL"):
        open_vector_store(make_settings(tmp_path, chroma_url="chroma:8000"))


def test_an_unreachable_chroma_server_is_reported_at_start(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnavailable, match=url):
        open_vector_store(make_settings(tmp_path, chroma_url=url))


def test_processes_sharing_a_chroma_server_see_each_others_vectors(
    tmp_path: Path, embedder: Embedder, chroma_url: str
) -> None:
    """An API replica and a worker on one catalog and one Chroma server, as in scale-out:
    neither owns the other, and a document one makes ready is searchable by vectors in the
    other."""
    settings = make_settings(tmp_path / "data", chroma_url=chroma_url)
    worker, api = Node(settings, embedder), Node(settings, embedder)
    try:
        collection = api.operations.open_collection("kb")
        added = api.add_bytes(
            collection, "backup.md", b"# Backup\n\nBack up the data directory every night.\n"
        )
        drain(worker)
        assert worker.catalog.get_document(collection.id, added.document.id).status == "ready"
        hits = Searcher(api.catalog, api.store, embedder).dense(
            collection, "how often are backups made?", 5
        )
        assert [h.chunk.document_id for h in hits] == [added.document.id]
        api.operations.delete_collection("kb")
        assert worker.store.ids(collection.id) == set()
    finally:
        worker.stop()
        api.stop()


def test_a_malformed_milvus_uri_is_a_config_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, vector_store="milvus", milvus_uri="milvus:19530")
    with pytest.raises(ConfigError, match="ZHIKU_MILVUS_URI"):
        open_vector_store(settings)


def test_an_unreachable_milvus_server_is_reported_at_start(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnavailable, match=url):
        open_vector_store(make_settings(tmp_path, vector_store="milvus", milvus_uri=url))


def test_milvus_lite_keeps_its_file_in_the_data_directory(tmp_path: Path) -> None:
    store = open_vector_store(make_settings(tmp_path / "data", vector_store="milvus"))
    try:
        assert (tmp_path / "data" / "milvus.db").is_dir()
    finally:
        store.close()


def test_a_document_added_with_milvus_answers_a_question(
    node_factory: Callable[..., Node],
) -> None:
    """Ingestion publishes the document's vectors to Milvus and dense search finds them there."""
    node = node_factory(vector_store="milvus")
    collection = node.operations.open_collection("kb")
    added = node.add_bytes(
        collection,
        "backup.md",
        b"# Backup\n\nBack up the data directory every night.\n\n"
        b"# Fonts\n\nThe page uses the system font of the browser.\n",
    )
    drain(node)
    assert node.catalog.get_document(collection.id, added.document.id).status == "ready"
    assert node.settings.milvus_address.endswith("milvus.db")

    hits = Searcher(node.catalog, node.store, node.embedder).dense(
        collection, "how often are backups made?", 5
    )
    assert hits and hits[0].chunk.document_id == added.document.id
    assert "every night" in hits[0].chunk.text


def test_a_newly_chosen_vector_store_is_filled_from_the_catalog_by_check(
    tmp_path: Path, embedder: Embedder
) -> None:
    """Switching ZHIKU_VECTOR_STORE is a change of setting and a `zhiku check`: the catalog
    keeps every vector, and the check publishes them to the new store."""
    data = tmp_path / "data"
    chroma = Node(make_settings(data), embedder)
    try:
        collection = chroma.operations.open_collection("kb")
        added = chroma.add_bytes(
            collection, "backup.md", b"# Backup\n\nBack up the data directory every night.\n"
        )
        drain(chroma)
    finally:
        chroma.stop()

    milvus = Node(make_settings(data, vector_store="milvus"), embedder)
    try:
        report = milvus.operations.check(collection)
        assert report.vectors_restored == milvus.catalog.get_collection("kb").chunks > 0
        hits = Searcher(milvus.catalog, milvus.store, embedder).dense(
            collection, "how often are backups made?", 5
        )
        assert [h.chunk.document_id for h in hits] == [added.document.id]
        assert milvus.operations.check(collection).vectors_restored == 0
    finally:
        milvus.stop()
