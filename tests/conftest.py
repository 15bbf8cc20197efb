"""Shared fixtures: the real shared data, settings in a temporary folder, and nodes that
share one loaded embedding model."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from core.answer.vocabulary import Passage
from core.catalog.records import StoredChunk
from core.embedding import Embedder, open_embedder
from core.settings import MINILM, Settings
from tests.databases import catalog_url, postgres_server, postgres_url
from tests.nodes import Node
from tests.servers import chroma_url, redis_url
from tests.tiny_llm import tiny_models

__all__ = [
    "catalog_url",
    "chroma_url",
    "postgres_server",
    "postgres_url",
    "redis_url",
    "tiny_models",
]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The model's ONNX export for queries (core/embedding/onnx_query.py) is made once for every
# test and every service the tests start, not once per data directory.
os.environ.setdefault(
    "ZHIKU_MODEL_CACHE_DIR", str(Path(tempfile.gettempdir()) / "zhiku-test-model-cache")
)

# ../shared/data beside the checkout; SHARED_DATA_DIR points elsewhere for a clone that lives
# apart from it.
SHARED_DATA = Path(
    os.environ.get("SHARED_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The third-party test files in ../shared/data (see its MANIFEST.md)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the shared evaluation data is missing: {SHARED_DATA} (set SHARED_DATA_DIR)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default model's."""
    loaded = open_embedder(make_settings(Path("unused")))
    loaded.load()
    return loaded


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    loaded = open_embedder(make_settings(Path("unused"), embedding_model=MINILM))
    loaded.load()
    return loaded


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    # Parsing in the test's own process keeps in-process tests fast; the process tests and
    # test_parse_pool run the real pool.
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "worker_poll_seconds": 0.1,
        "parse_processes": 0,
        # Tests send requests, and wrong keys, far faster than people; the limits' own tests
        # (test_api_limits.py) turn them on.
        "rate_limit": "0",
        "auth_failure_limit": "0",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def node_factory(
    tmp_path: Path, embedder: Embedder, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Node]]:
    """Nodes on SQLite, or on each catalog for a test that uses the `catalog_url` fixture
    (then nodes of one test share its database, like workers of a deployment)."""
    made: list[Node] = []
    database: dict[str, Any] = {}
    if "catalog_url" in request.fixturenames:
        database["database_url"] = request.getfixturevalue("catalog_url")

    def build(**overrides: Any) -> Node:
        values = {**database, **overrides}
        settings = make_settings(tmp_path / f"data{len(made)}", **values)
        # The session's loaded model, where the node's setting names it.
        shared: Embedder | None = None
        if settings.embedding_model == embedder.model_id:
            shared = embedder
        elif settings.embedding_model == MINILM:
            shared = request.getfixturevalue("minilm")
        node = Node(settings, shared)
        made.append(node)
        return node

    yield build
    for node in made:
        node.stop()


@pytest.fixture
def node(node_factory: Callable[..., Node]) -> Node:
    return node_factory()


def drain(node: Node) -> None:
    """Run the worker in this thread until no job is left: deterministic, no timing."""
    for _ in range(10_000):
        if not node.worker.run_once():
            return
    raise AssertionError("the worker never ran out of work")


def passage(
    n: int,
    text: str,
    document_id: str,
    filename: str,
    page: int | None = None,
    heading_path: tuple[str, ...] = (),
) -> Passage:
    """A numbered passage around a chunk that was never stored, for prompt and citation tests."""
    chunk = StoredChunk(
        seq=n - 1,
        text=text,
        page=page,
        heading_path=heading_path,
        start=0,
        end=len(text),
        tokens=len(text.split()),
        rowid=n,
        collection_id="c",
        document_id=document_id,
        id=f"{document_id}-{n}",
    )
    return Passage(n, chunk, filename)


@contextmanager
def service_with(folder: Path, collection: str, filename: str, data: bytes) -> Iterator[TestClient]:
    """The app, lifespan running, with one document in a collection and ready."""
    with TestClient(create_app(make_settings(folder / "data"))) as client:
        job = upload_and_wait(client, collection, filename, data)
        assert job["state"] == "done", job
        yield client


def upload_and_wait(
    client: Any, collection: str, filename: str, data: bytes, timeout: float = 120
) -> dict[str, Any]:
    """Create the collection if needed, upload one file over HTTP and wait for its job to end
    (done or failed); returns the job."""
    client.post("/api/collections", json={"name": collection})
    response = client.post(
        f"/api/collections/{collection}/documents", files=[("files", (filename, data))]
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/api/jobs/{accepted[0]['job']['id']}").json()
        if job["state"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"job for {filename} did not finish"
        time.sleep(0.1)
