"""The SQL catalog's jobs: claimed under a lease (the backend's claim lock keeps concurrent
claimers apart), renewed, released, cancelled, retried, failed and finished."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from core.catalog.protocol import LeaseLost
from core.catalog.records import (
    Document,
    DocumentStatus,
    Job,
    JobStage,
    JobState,
    job_of,
    reason_columns,
)
from core.catalog.sql.base import BATCH, Db, SqlBase, marks
from core.errors import Conflict
from core.messages import Reason

# Claims are counted apart from failures: a process stopped mid-job (restart, deploy, SIGKILL)
# is not the document's fault, so it may be claimed again, but a document that kills the
# whole worker every time must still end; it gets this many claims per attempt it is allowed.
CLAIMS_PER_ATTEMPT = 10


class SqlJobs(SqlBase):
    """The Jobs protocol in SQL."""

    def get_job(self, job_id: str) -> Job:
        with self.reading() as db:
            return self._job_row(db, job_id)

    def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        found: list[Job] = []
        with self.reading() as db:
            for start in range(0, len(job_ids), BATCH):
                part = job_ids[start : start + BATCH]
                rows = db.execute(f"SELECT * FROM jobs WHERE id IN ({marks(part)})", tuple(part))
                found.extend(job_of(r) for r in rows)
        return found

    def latest_job(self, collection_id: str, document_id: str) -> Job:
        with self.reading() as db:
            return self._latest_job(db, collection_id, document_id)

    def count_jobs(self) -> dict[str, int]:
        with self.reading() as db:
            rows = db.execute("SELECT state, count(*) AS n FROM jobs GROUP BY state").fetchall()
        return {str(r["state"]): int(r["n"]) for r in rows}

    def claim_jobs(
        self,
        stage: JobStage,
        worker: str,
        lease_seconds: float,
        max_attempts: int,
        max_jobs: int = 1,
        max_chunks: int = 0,
    ) -> list[Job]:
        with self.transaction() as db:
            now = self.now(db)
            # `state IN` lets the index skip the stage's finished jobs, which grow with the
            # collection, instead of reading them all on every claim.
            rows = db.execute(
                "SELECT id, chunks_total, attempts FROM jobs WHERE stage=? AND state IN (?,?)"
                " AND (state=? OR lease_until < ?) ORDER BY created_at LIMIT 256" + self.claim_lock,
                (stage, JobState.QUEUED, JobState.RUNNING, JobState.QUEUED, now),
            ).fetchall()
            taken: list[str] = []
            total = 0
            for row in rows:
                if row["attempts"] >= CLAIMS_PER_ATTEMPT * max_attempts:
                    self._fail(
                        db,
                        row["id"],
                        Reason("worker_stopped_repeatedly", {"attempts": row["attempts"]}),
                    )
                    continue
                full = (
                    len(taken) >= max_jobs
                    if stage == JobStage.PARSE
                    else total + row["chunks_total"] > max_chunks
                )
                if taken and full:
                    break
                taken.append(row["id"])
                total += row["chunks_total"]
            if not taken:
                return []
            db.execute(
                f"UPDATE jobs SET state=?, worker=?, lease_until=?, attempts=attempts+1,"
                f" updated_at=?, started_at=coalesce(started_at, ?) WHERE id IN ({marks(taken)})",
                (JobState.RUNNING, worker, now + lease_seconds, now, now, *taken),
            )
            if stage == JobStage.PARSE:
                db.execute(
                    "UPDATE documents SET status=?, updated_at=? WHERE (collection_id, id) IN"
                    f" (SELECT collection_id, document_id FROM jobs WHERE id IN ({marks(taken)}))",
                    (DocumentStatus.PROCESSING, now, *taken),
                )
            return [self._job_row(db, job_id) for job_id in taken]

    def renew_leases(self, job_ids: Sequence[str], worker: str, lease_seconds: float) -> set[str]:
        if not job_ids:
            return set()
        with self.transaction() as db:
            db.execute(
                "UPDATE jobs SET lease_until=? WHERE worker=? AND state=?"
                f" AND id IN ({marks(job_ids)})",
                (self.now(db) + lease_seconds, worker, JobState.RUNNING, *job_ids),
            )
            held = {
                r["id"]
                for r in db.execute(
                    f"SELECT id FROM jobs WHERE worker=? AND state=? AND id IN ({marks(job_ids)})",
                    (worker, JobState.RUNNING, *job_ids),
                )
            }
        return set(job_ids) - held

    def cancel_job(self, job_id: str) -> Job:
        with self.transaction() as db:
            self._job_in(db, job_id, (JobState.QUEUED, JobState.RUNNING), "job_not_cancellable")
            self._fail(db, job_id, Reason("job_cancelled"))
            db.execute("UPDATE jobs SET state=? WHERE id=?", (JobState.CANCELLED, job_id))
            return self._job_row(db, job_id)

    def retry_job(self, job_id: str, refused_media_type: str) -> Job:
        now = time.time()
        with self.transaction() as db:
            job = self._job_in(
                db, job_id, (JobState.FAILED, JobState.CANCELLED), "job_not_retriable"
            )
            document = self._document(db, job.collection_id, job.document_id)
            if document.media_type == refused_media_type:
                raise Conflict("retry_of_refused_file", **refusal_params(document))
            latest = self._latest_job(db, job.collection_id, job.document_id)
            if latest.id != job_id:
                raise Conflict("job_already_retried", job=job_id, retry=latest.id)
            db.execute(
                "UPDATE documents SET status=?, error=NULL, error_code=NULL, error_params=NULL,"
                " updated_at=?"
                " WHERE collection_id=? AND id=?",
                (DocumentStatus.QUEUED, now, job.collection_id, job.document_id),
            )
            new_id = uuid.uuid4().hex
            db.execute(
                "INSERT INTO jobs (id, collection_id, document_id, state, stage, created_at,"
                " updated_at) VALUES (?,?,?,?,?,?,?)",
                (
                    new_id,
                    job.collection_id,
                    job.document_id,
                    JobState.QUEUED,
                    JobStage.PARSE,
                    now,
                    now,
                ),
            )
            return self._job_row(db, new_id)

    def _job_in(self, db: Db, job_id: str, states: tuple[JobState, JobState], refusal: str) -> Job:
        """The job, locked until the transaction ends. Raises NotFound, and Conflict unless
        it is in one of `states` (with message code `refusal`)."""
        job = self._job_row(db, job_id, lock=True)
        if job.state not in states:
            raise Conflict(refusal, job=job_id, state=job.state.value)
        return job

    def release_job(self, job_id: str, worker: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE jobs SET state=?, lease_until=NULL, worker=NULL, updated_at=?"
                " WHERE id=? AND worker=? AND state=?",
                (JobState.QUEUED, time.time(), job_id, worker, JobState.RUNNING),
            )

    def charge_failure(self, job_id: str, worker: str, reason: Reason, max_failures: int) -> Job:
        with self.transaction() as db:
            job = self._assert_held(db, job_id, worker)
            failures = int(job["failures"]) + 1
            db.execute("UPDATE jobs SET failures=? WHERE id=?", (failures, job_id))
            if failures >= max_failures:
                self._fail(db, job_id, Reason(reason.code, {**reason.params, "failures": failures}))
            else:
                db.execute(
                    "UPDATE jobs SET state=?, lease_until=NULL, worker=NULL, updated_at=?"
                    " WHERE id=?",
                    (JobState.QUEUED, time.time(), job_id),
                )
            return self._job_row(db, job_id)

    def stalled_jobs(self, seconds: float) -> list[Job]:
        with self.reading() as db:
            rows = db.execute(
                # `stage IN` lets the claim index find the running jobs.
                "SELECT * FROM jobs WHERE stage IN (?,?) AND state=? AND updated_at < ?"
                " ORDER BY updated_at",
                (JobStage.PARSE, JobStage.EMBED, JobState.RUNNING, self.now(db) - seconds),
            ).fetchall()
        return [job_of(r) for r in rows]

    def release_running_jobs(self) -> int:
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET state=?, lease_until=NULL, worker=NULL WHERE state=?",
                (JobState.QUEUED, JobState.RUNNING),
            )
            return cursor.rowcount

    def set_page_progress(self, job_id: str, worker: str, done: int, total: int) -> None:
        with self.transaction() as db:
            self._assert_held(db, job_id, worker)
            db.execute(
                "UPDATE jobs SET pages_done=?, pages_total=?, updated_at=? WHERE id=?",
                (done, total, time.time(), job_id),
            )

    def mark_ready(self, job_ids: Sequence[str], worker: str) -> list[str]:
        now = time.time()
        lost: list[str] = []
        with self.transaction() as db:
            for job_id in job_ids:
                try:
                    job = self._assert_held(db, job_id, worker)
                except LeaseLost:
                    lost.append(job_id)
                    continue
                missing = db.execute(
                    "SELECT count(*) AS n FROM chunks WHERE collection_id=? AND document_id=?"
                    " AND vector IS NULL",
                    (job["collection_id"], job["document_id"]),
                ).fetchone()["n"]
                if missing:
                    lost.append(job_id)
                    continue
                db.execute(
                    "UPDATE documents SET status=?, updated_at=? WHERE collection_id=? AND id=?",
                    (DocumentStatus.READY, now, job["collection_id"], job["document_id"]),
                )
                db.execute(
                    "UPDATE jobs SET state=?, lease_until=NULL, chunks_done=chunks_total,"
                    " updated_at=?, finished_at=? WHERE id=?",
                    (JobState.DONE, now, now, job_id),
                )
        return lost

    def fail_job(self, job_id: str, reason: Reason, worker: str | None = None) -> Job:
        with self.transaction() as db:
            if worker is not None:
                self._assert_held(db, job_id, worker)
                # The worker's verdict on the document: a failure charged to it.
                db.execute("UPDATE jobs SET failures=failures+1 WHERE id=?", (job_id,))
            self._fail(db, job_id, reason)
            return self._job_row(db, job_id)

    def _fail(self, db: Db, job_id: str, reason: Reason) -> None:
        now = time.time()
        job = self._job_row(db, job_id)
        self._drop_chunks(db, job.collection_id, job.document_id)
        failure = reason_columns(reason)
        db.execute(
            "UPDATE documents SET status=?, error=?, error_code=?, error_params=?, chunks=0,"
            " updated_at=? WHERE collection_id=? AND id=?",
            (DocumentStatus.FAILED, *failure, now, job.collection_id, job.document_id),
        )
        db.execute(
            "UPDATE jobs SET state=?, error=?, error_code=?, error_params=?, lease_until=NULL,"
            " updated_at=?, finished_at=? WHERE id=?",
            (JobState.FAILED, *failure, now, now, job_id),
        )


def refusal_params(document: Document) -> dict[str, Any]:
    """What a retry of a file refused when it was added says of the refusal: its code and
    parameters where stored, so the page can say it in its language too."""
    return {
        "reason": document.error,
        "reason_code": document.error_code,
        "reason_params": document.error_params,
    }
