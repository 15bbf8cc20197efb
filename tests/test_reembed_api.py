"""The re-embedding routes over real HTTP (uvicorn on a loopback port): who may start, follow
and cancel one, which models a client may name, and a cancel that leaves the model in place."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.browser import running
from tests.conftest import make_settings, upload_and_wait

ROOT = "root-env-key"
E5 = "multilingual-e5-small"
PORT = 18641


def test_reembed_routes_need_the_right_scope_take_model_names_only_and_cancel_cleanly(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path / "data", port=PORT, api_keys=ROOT, embedding_model="all-MiniLM-L6-v2"
    )
    with running(settings) as service, ExitStack() as clients:
        root = clients.enter_context(
            httpx.Client(
                base_url=service.url, headers={"Authorization": f"Bearer {ROOT}"}, timeout=60
            )
        )
        job = upload_and_wait(
            root, "kb", "backup.txt", "备份每天晚上复制到第二个数据中心。".encode()
        )
        assert job["state"] == "done", job
        made = root.post("/api/keys", json={"name": "reader", "read": ["kb"]})
        reader = clients.enter_context(
            httpx.Client(
                base_url=service.url,
                headers={"Authorization": f"Bearer {made.json()['secret']}"},
                timeout=60,
            )
        )
        path = "/api/collections/kb/reembed"
        model = root.get("/api/collections/kb").json()["embedding_model"]

        idle = reader.get(path)
        assert idle.status_code == 200
        assert idle.json() == {
            "collection": "kb",
            "embedding_model": model,
            "state": "idle",
            "target_model": None,
            "chunks_done": 0,
            "chunks_total": 0,
        }
        assert reader.post(path, json={"model": E5}).status_code == 403
        assert reader.delete(path).status_code == 403
        assert root.post("/api/collections/none/reembed", json={"model": E5}).status_code == 404
        for folder in ("../models", "/srv/models/x", "a/b/c", ".cache"):
            refused = root.post(path, json={"model": folder})
            assert refused.status_code in (400, 422), folder
        unknown = root.post(path, json={"model": "no-such-model"})
        assert unknown.status_code == 409 and "no-such-model" in unknown.json()["error"]["message"]
        assert root.post(path, json={"model": model}).status_code == 409
        assert root.delete(path).status_code == 404

        started = root.post(path, json={"model": E5})
        assert started.status_code == 202, started.text
        assert started.json()["state"] == "running" and started.json()["chunks_total"] == 1
        cancelled = root.delete(path)
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        assert reader.get(path).json()["state"] == "idle"
        assert root.get("/api/collections/kb").json()["embedding_model"] == model
        answered = reader.post("/api/collections/kb/query", json={"question": "备份什么时候复制？"})
        assert answered.status_code == 200
        assert answered.json()["chunks"][0]["filename"] == "backup.txt"
