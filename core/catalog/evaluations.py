"""Evaluations: golden sets run against a collection, kept in the catalog's database with their
progress and report, so every replica shows the same runs and a run's process can be told it
was cancelled: the Protocol, its record, and its SQL, which runs on SQLite and PostgreSQL.

A run holds no lease: the process running it writes its progress (and `updated_at`) every few
seconds, and a running evaluation whose `updated_at` stopped moving was interrupted (its
process stopped) and is failed by the next reader, at most one per collection runs at once."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from core.catalog.records import RowReader, reason_columns
from core.errors import Conflict, NotFound
from core.messages import Reason

if TYPE_CHECKING:
    from core.catalog.sql import SqlCatalog


class EvaluationState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Evaluation:
    id: str
    collection_id: str
    state: EvaluationState
    golden_file: str
    top_k: int
    questions_done: int
    questions_total: int
    error: str | None
    error_code: str | None
    error_params: dict[str, Any] | None
    # The report as core/evaluation made it (JSON), once done.
    report: dict[str, Any] | None
    created_at: float
    updated_at: float
    finished_at: float | None


def _json(stored: str | None) -> dict[str, Any] | None:
    return None if stored is None else dict(json.loads(stored))


evaluation_of = RowReader(
    Evaluation, parse={"state": EvaluationState, "error_params": _json, "report": _json}
)

# Every column but the report, which a list of runs does not read.
_SUMMARY = (
    "id, collection_id, state, golden_file, top_k, questions_done, questions_total, error,"
    " error_code, error_params, NULL AS report, created_at, updated_at, finished_at"
)


class Evaluations(Protocol):
    """Golden-set runs of collections, with their progress and reports."""

    def start(
        self, collection_id: str, golden_file: str, top_k: int, questions: int, stale: float
    ) -> Evaluation:
        """A new running evaluation. Raises Conflict while another of the collection runs
        (one whose progress moved within `stale` seconds)."""
        ...

    def get(self, collection_id: str, evaluation_id: str) -> Evaluation:
        """With its report. Raises NotFound (also for another collection's)."""
        ...

    def in_collection(self, collection_id: str, limit: int) -> list[Evaluation]:
        """Without reports, newest first. Raises nothing else."""
        ...

    def progress(self, evaluation_id: str, done: int) -> bool:
        """Record progress (and that its process is alive); False when it no longer runs
        (deleted, or failed as interrupted). Raises nothing else."""
        ...

    def finish(self, evaluation_id: str, report: dict[str, Any]) -> bool:
        """Done, with its report; False (nothing written) when it no longer runs. Raises
        nothing else."""
        ...

    def fail(self, evaluation_id: str, reason: Reason) -> bool:
        """Failed with `reason`; False when it no longer runs. Raises nothing else."""
        ...

    def fail_stale(self, reason: Reason, stale: float, collection_id: str | None = None) -> int:
        """Fail the running evaluations whose progress has not moved for `stale` seconds (0:
        every running one), of one collection or all; returns how many. Raises nothing else."""
        ...

    def delete(self, collection_id: str, evaluation_id: str) -> Evaluation:
        """Its process stops at its next progress. Raises NotFound."""
        ...


class SqlEvaluations:
    def __init__(self, catalog: SqlCatalog) -> None:
        self._catalog = catalog

    def start(
        self, collection_id: str, golden_file: str, top_k: int, questions: int, stale: float
    ) -> Evaluation:
        evaluation_id = uuid.uuid4().hex
        catalog = self._catalog
        with catalog.transaction() as db:
            now = catalog.now(db)
            # The collection's row serialises starts, so two replicas cannot both start one.
            db.execute(
                "SELECT id FROM collections WHERE id=?" + catalog.row_lock, (collection_id,)
            ).fetchone()
            running = db.execute(
                "SELECT id FROM evaluations WHERE collection_id=? AND state=? AND updated_at>=?",
                (collection_id, EvaluationState.RUNNING, now - stale),
            ).fetchone()
            if running is not None:
                raise Conflict("evaluation_running", evaluation=running["id"])
            db.execute(
                "INSERT INTO evaluations (id, collection_id, state, golden_file, top_k,"
                " questions_total, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                (
                    evaluation_id,
                    collection_id,
                    EvaluationState.RUNNING,
                    golden_file,
                    top_k,
                    questions,
                    now,
                    now,
                ),
            )
        return self.get(collection_id, evaluation_id)

    def get(self, collection_id: str, evaluation_id: str) -> Evaluation:
        with self._catalog.reading() as db:
            row = db.execute(
                "SELECT * FROM evaluations WHERE id=? AND collection_id=?",
                (evaluation_id, collection_id),
            ).fetchone()
        if row is None:
            raise NotFound("evaluation_not_found", evaluation=evaluation_id)
        return evaluation_of(row)

    def in_collection(self, collection_id: str, limit: int) -> list[Evaluation]:
        with self._catalog.reading() as db:
            rows = db.execute(
                f"SELECT {_SUMMARY} FROM evaluations WHERE collection_id=?"
                " ORDER BY created_at DESC LIMIT ?",
                (collection_id, limit),
            ).fetchall()
        return [evaluation_of(r) for r in rows]

    def progress(self, evaluation_id: str, done: int) -> bool:
        return self._update(evaluation_id, "questions_done=?", (done,))

    def finish(self, evaluation_id: str, report: dict[str, Any]) -> bool:
        return self._update(
            evaluation_id,
            "state=?, questions_done=questions_total, report=?",
            (EvaluationState.DONE, json.dumps(report, ensure_ascii=False)),
            finished=True,
        )

    def fail(self, evaluation_id: str, reason: Reason) -> bool:
        return self._update(
            evaluation_id,
            "state=?, error=?, error_code=?, error_params=?",
            (EvaluationState.FAILED, *reason_columns(reason)),
            finished=True,
        )

    def fail_stale(self, reason: Reason, stale: float, collection_id: str | None = None) -> int:
        catalog = self._catalog
        scope = "" if collection_id is None else " AND collection_id=?"
        args = () if collection_id is None else (collection_id,)
        stalled = "state=? AND updated_at<=?" + scope
        # Looked for outside a write transaction first: every read of a run asks, and on
        # SQLite a write transaction would wait behind the ingestion worker's.
        with catalog.reading() as db:
            found = db.execute(
                f"SELECT 1 FROM evaluations WHERE {stalled} LIMIT 1",
                (EvaluationState.RUNNING, catalog.now(db) - stale, *args),
            ).fetchone()
        if found is None:
            return 0
        with catalog.transaction() as db:
            now = catalog.now(db)
            return db.execute(
                "UPDATE evaluations SET state=?, error=?, error_code=?, error_params=?,"
                f" updated_at=?, finished_at=? WHERE {stalled}",
                (
                    EvaluationState.FAILED,
                    *reason_columns(reason),
                    now,
                    now,
                    EvaluationState.RUNNING,
                    now - stale,
                    *args,
                ),
            ).rowcount

    def delete(self, collection_id: str, evaluation_id: str) -> Evaluation:
        found = self.get(collection_id, evaluation_id)
        with self._catalog.transaction() as db:
            db.execute("DELETE FROM evaluations WHERE id=?", (evaluation_id,))
        return found

    def _update(
        self,
        evaluation_id: str,
        assignments: str,
        args: tuple[Any, ...],
        finished: bool = False,
    ) -> bool:
        """A running evaluation's columns, with `updated_at` (and `finished_at`) now."""
        catalog = self._catalog
        with catalog.transaction() as db:
            now = catalog.now(db)
            ended = (now,) if finished else (None,)
            changed = db.execute(
                f"UPDATE evaluations SET updated_at=?, finished_at=?, {assignments}"
                " WHERE id=? AND state=?",
                (now, *ended, *args, evaluation_id, EvaluationState.RUNNING),
            ).rowcount
        return changed == 1
