"""Evaluation runs in the catalog, on SQLite and PostgreSQL: one runs at a time per collection,
progress and the report are written only while it runs, a run whose progress stopped is failed
as interrupted, and revision 0006 brings a catalog at 0005 to them with its rows kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from core.catalog import Catalog, open_catalog
from core.catalog.evaluations import EvaluationState
from core.catalog.migrations.runner import head, postgres_url, schema_version, sqlite_url, upgrade
from core.catalog.sqlite import sqlite_path
from core.errors import Conflict, NotFound
from core.messages import Reason
from core.settings import Settings
from tests.conftest import make_settings

INTERRUPTED = Reason("evaluation_interrupted")
REPORT = {"metrics": {"hit_at_5": 0.75}, "golden": "set.jsonl", "问题": "多少？"}


@pytest.fixture
def settings(tmp_path: Path, catalog_url: str | None) -> Settings:
    return make_settings(tmp_path / "data", database_url=catalog_url)


@pytest.fixture
def catalog(settings: Settings) -> Iterator[Catalog]:
    opened = open_catalog(settings)
    yield opened
    opened.close()


def _url(settings: Settings) -> URL:
    if settings.database_url is None:
        return sqlite_url(sqlite_path(settings))
    return postgres_url(settings.database_url)


def test_a_run_moves_to_done_with_its_report_and_only_one_runs_per_collection(
    catalog: Catalog,
) -> None:
    kb = catalog.create_collection("kb", "model", 200, 20)
    other = catalog.create_collection("other", "model", 200, 20)
    runs = catalog.evaluations()
    started = runs.start(kb.id, "set.jsonl", 5, 3, stale=60)
    assert (started.state, started.questions_done, started.questions_total) == (
        EvaluationState.RUNNING,
        0,
        3,
    )
    with pytest.raises(Conflict) as refused:
        runs.start(kb.id, "again.jsonl", 5, 3, stale=60)
    assert refused.value.code == "evaluation_running"
    # Another collection's run is not held up.
    elsewhere = runs.start(other.id, "set.jsonl", 3, 1, stale=60)

    assert runs.progress(started.id, 2)
    assert runs.get(kb.id, started.id).questions_done == 2
    assert runs.finish(started.id, REPORT)
    done = runs.get(kb.id, started.id)
    assert (done.state, done.questions_done, done.report) == (EvaluationState.DONE, 3, REPORT)
    assert done.finished_at is not None and done.finished_at >= done.created_at
    # A finished run takes no more writes.
    assert not runs.progress(started.id, 1)
    assert not runs.fail(started.id, INTERRUPTED)

    second = runs.start(kb.id, "again.jsonl", 5, 3, stale=60)
    listed = runs.in_collection(kb.id, 10)
    assert [e.id for e in listed] == [second.id, started.id]
    assert all(e.report is None for e in listed)
    with pytest.raises(NotFound):
        runs.get(other.id, started.id)
    assert [e.id for e in runs.in_collection(other.id, 10)] == [elsewhere.id]


def test_a_run_whose_progress_stopped_is_failed_as_interrupted(catalog: Catalog) -> None:
    kb = catalog.create_collection("kb", "model", 200, 20)
    runs = catalog.evaluations()
    started = runs.start(kb.id, "set.jsonl", 5, 3, stale=60)
    assert runs.fail_stale(INTERRUPTED, 60, kb.id) == 0
    assert runs.get(kb.id, started.id).state == EvaluationState.RUNNING
    # Stale at once: what the sole owner of a data directory does when it starts.
    assert runs.fail_stale(INTERRUPTED, 0) == 1
    failed = runs.get(kb.id, started.id)
    assert (failed.state, failed.error_code) == (EvaluationState.FAILED, "evaluation_interrupted")
    assert failed.error == INTERRUPTED.text and failed.error_params == {}
    # Its process, still alive somewhere, learns it no longer runs.
    assert not runs.progress(started.id, 1)
    assert runs.start(kb.id, "set.jsonl", 5, 3, stale=60).state == EvaluationState.RUNNING


def test_deleting_a_run_or_its_collection_removes_it(catalog: Catalog) -> None:
    kb = catalog.create_collection("kb", "model", 200, 20)
    runs = catalog.evaluations()
    started = runs.start(kb.id, "set.jsonl", 5, 3, stale=60)
    assert runs.delete(kb.id, started.id).id == started.id
    assert not runs.progress(started.id, 1)
    with pytest.raises(NotFound) as missing:
        runs.delete(kb.id, started.id)
    assert missing.value.code == "evaluation_not_found"
    kept = runs.start(kb.id, "set.jsonl", 5, 3, stale=60)
    catalog.delete_collection("kb")
    again = catalog.create_collection("kb", "model", 200, 20)
    assert runs.in_collection(kb.id, 10) == [] == runs.in_collection(again.id, 10)
    assert not runs.finish(kept.id, REPORT)


def test_a_catalog_at_revision_0005_is_upgraded_to_hold_evaluations(settings: Settings) -> None:
    url = _url(settings)
    if settings.database_url is None:
        sqlite_path(settings).parent.mkdir(parents=True)
    upgrade(url, target="0005")
    assert schema_version(url) == "0005"
    engine = create_engine(url, poolclass=NullPool)
    try:
        assert not inspect(engine).has_table("evaluations")
        with engine.begin() as db:
            db.execute(
                text(
                    "INSERT INTO collections (id, name, embedding_model, chunk_tokens,"
                    " chunk_overlap_tokens, created_at) VALUES ('c1', 'kb', 'model', 200, 20, 1)"
                )
            )
    finally:
        engine.dispose()

    catalog = open_catalog(settings)
    try:
        assert schema_version(url) == head() == "0006"
        assert catalog.get_collection("kb").id == "c1"
        runs = catalog.evaluations()
        started = runs.start("c1", "set.jsonl", 5, 1, stale=60)
        assert runs.finish(started.id, REPORT)
        assert runs.get("c1", started.id).report == REPORT
    finally:
        catalog.close()
