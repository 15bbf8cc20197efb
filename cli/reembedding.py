"""`zhiku reembed`: change a collection's embedding model without a wipe. Through the running
service's API when one owns the data directory, else in the catalog (the workers pick it up);
with --wait, progress until the switch, running the re-embedding in this process when nobody
owns the data directory. --status and --cancel look at or stop the one under way."""

from __future__ import annotations

import time
from typing import Any

from tqdm import tqdm

from cli.adding import check_response
from cli.service_client import service_client
from core.ownership import DataDirOwnership, owner_required, read_owner
from core.resources import Resources
from core.settings import Settings
from ingest.lifecycle import WorkerThread
from ingest.operations import Operations

_POLL_S = 0.5


def run_reembed(
    settings: Settings, collection: str, model: str | None, action: str, wait: bool
) -> int:
    """`action`: start (needs `model`), status or cancel."""
    owner = read_owner(settings.data_dir) if owner_required(settings) else None
    if owner is not None and owner.url:
        return _through_service(settings, owner.url, collection, model, action, wait)
    with Resources(settings) as resources:
        operations = Operations(resources)
        found = operations.collection(collection)
        if action == "status":
            _print(_view(operations, collection))
            return 0
        if action == "cancel":
            # An embedded store's owner (a worker) drops the space itself.
            operations.cancel_reembed(found, drop_space=owner is None)
            print(f"{collection}: re-embedding cancelled; it keeps {found.embedding_model}")
            return 0
        assert model is not None
        operations.start_reembed(found, model)
        # A worker process owns the data directory, or workers share the stores: they do it.
        elsewhere = owner is not None or not owner_required(settings)
        if not wait:
            who = "the workers" if elsewhere else "`zhiku serve` or `zhiku worker`"
            print(f"{collection}: re-embedding with {model} recorded; {who} will do it")
            return 0
        if elsewhere:
            return _follow(lambda: _view(operations, collection))
        with DataDirOwnership(settings.data_dir, role="cli"):
            worker = WorkerThread(resources, operations)
            worker.start(sole_owner=True)
            try:
                return _follow(lambda: _view(operations, collection))
            finally:
                worker.stop()


def _view(operations: Operations, name: str) -> dict[str, Any]:
    collection = operations.collection(name)
    found = operations.reembed_status(collection)
    return {
        "collection": name,
        "embedding_model": collection.embedding_model,
        "state": "running" if found else "idle",
        "target_model": found.model if found else None,
        "chunks_done": found.chunks_done if found else 0,
        "chunks_total": found.chunks_total if found else 0,
    }


def _through_service(
    settings: Settings, url: str, collection: str, model: str | None, action: str, wait: bool
) -> int:
    path = f"/api/collections/{collection}/reembed"
    with service_client(url, settings.client_api_key) as http:
        if action == "status":
            response = http.get(path)
        elif action == "cancel":
            response = http.delete(path)
        else:
            response = http.post(path, json={"model": model})
        check_response(response)
        if action != "start" or not wait:
            _print(response.json())
            return 0

        def view() -> dict[str, Any]:
            answer = http.get(path)
            check_response(answer)
            return dict(answer.json())

        return _follow(view)


def _follow(view: Any) -> int:
    """Progress until the re-embedding is switched (0) or cancelled elsewhere (1)."""
    first = view()
    target = first["target_model"]
    bar = tqdm(desc="chunks re-embedded", unit="chunk", total=0, dynamic_ncols=True)
    try:
        current = first
        while current["state"] == "running":
            bar.total, bar.n = current["chunks_total"], current["chunks_done"]
            bar.refresh()
            time.sleep(_POLL_S)
            current = view()
    finally:
        bar.close()
    _print(current)
    return 0 if current["embedding_model"] == target else 1


def _print(view: dict[str, Any]) -> None:
    if view["state"] == "running":
        print(
            f"{view['collection']}: {view['embedding_model']} → {view['target_model']},"
            f" {view['chunks_done']}/{view['chunks_total']} chunks re-embedded"
        )
    else:
        print(f"{view['collection']}: {view['state']}; model {view['embedding_model']}")
