"""Evaluation runs in the service process: each golden set is asked of the collection by an
asyncio task the app's lifespan owns, one at a time per collection (the catalog refuses a
second), its progress written to the catalog every few seconds so that any replica shows it.
A run whose process stopped is failed as interrupted: at once by the sole owner of a data
directory when it starts, otherwise by the first reader after its progress stopped moving."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from app.evaluation_asking import service_ask_turn
from core.answer.service import AnswerService
from core.catalog.evaluations import Evaluation, Evaluations
from core.catalog.records import Collection
from core.errors import ZhikuError
from core.evaluation.golden import GoldenItem
from core.evaluation.report import ConfigValue
from core.evaluation.runner import evaluate
from core.messages import Reason
from core.settings import Settings

log = logging.getLogger("zhiku.evaluations")

# How often a run writes its progress; a running evaluation whose progress has not moved for
# STALE_SECONDS was interrupted (a question answered by a slow model takes well under that).
BEAT_SECONDS = 2.0
STALE_SECONDS = 120.0
# Runs a collection keeps listed: the newest.
LISTED = 50

INTERRUPTED = Reason("evaluation_interrupted")


class EvaluationRuns:
    def __init__(self, settings: Settings, store: Evaluations, answers: AnswerService) -> None:
        self.settings = settings
        self.store = store
        self.answers = answers
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def recover(self, sole_owner: bool) -> None:
        """Fail the runs left running by a process that stopped: every one for the sole owner
        of the data directory (no other process can be running one)."""
        failed = self.store.fail_stale(INTERRUPTED, 0.0 if sole_owner else STALE_SECONDS)
        if failed:
            log.warning("%d evaluation(s) were interrupted by a restart", failed)

    def start(
        self, collection: Collection, items: Sequence[GoldenItem], golden_file: str, top_k: int
    ) -> Evaluation:
        """Record the run and start it in this process's event loop. Raises Conflict while
        another run of the collection is under way."""
        self.store.fail_stale(INTERRUPTED, STALE_SECONDS, collection.id)
        questions = sum(len(item.asked) for item in items)
        evaluation = self.store.start(collection.id, golden_file, top_k, questions, STALE_SECONDS)
        task = asyncio.create_task(
            self._run(evaluation, collection, items), name=f"evaluation-{evaluation.id}"
        )
        self._tasks[evaluation.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(evaluation.id, None))
        return evaluation

    def in_collection(self, collection: Collection) -> list[Evaluation]:
        self.store.fail_stale(INTERRUPTED, STALE_SECONDS, collection.id)
        return self.store.in_collection(collection.id, LISTED)

    def get(self, collection: Collection, evaluation_id: str) -> Evaluation:
        """Raises NotFound."""
        self.store.fail_stale(INTERRUPTED, STALE_SECONDS, collection.id)
        return self.store.get(collection.id, evaluation_id)

    def delete(self, collection: Collection, evaluation_id: str) -> Evaluation:
        """A run of this process stops now; one of another replica at its next progress.
        Raises NotFound."""
        deleted = self.store.delete(collection.id, evaluation_id)
        task = self._tasks.get(evaluation_id)
        if task is not None:
            task.cancel()
        return deleted

    async def aclose(self) -> None:
        """The service is stopping: its runs end as interrupted rather than wait for them."""
        tasks = list(self._tasks.items())
        for _, task in tasks:
            task.cancel()
        await asyncio.gather(*(task for _, task in tasks), return_exceptions=True)
        for evaluation_id, _ in tasks:
            self.store.fail(evaluation_id, INTERRUPTED)

    async def _run(
        self, evaluation: Evaluation, collection: Collection, items: Sequence[GoldenItem]
    ) -> None:
        done = 0

        def progress(answered: int, _: int) -> None:
            nonlocal done
            done = answered

        ask = service_ask_turn(self.answers, collection, evaluation.top_k)
        work = asyncio.ensure_future(
            evaluate(
                ask,
                items,
                top_k=evaluation.top_k,
                progress=progress,
                config=configuration(self.settings, collection),
                golden=evaluation.golden_file,
            )
        )
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=BEAT_SECONDS)
                if work.done():
                    break
                # False: deleted, or failed as interrupted by a reader that found it stalled.
                if not await asyncio.to_thread(self.store.progress, evaluation.id, done):
                    work.cancel()
                    await asyncio.gather(work, return_exceptions=True)
                    return
            report = work.result()
        except asyncio.CancelledError:
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            raise
        except ZhikuError as exc:
            await asyncio.to_thread(self.store.fail, evaluation.id, exc.reason)
            return
        except Exception as exc:
            # One catch per run, as the ingestion worker has per job: the reason is stored.
            log.exception("evaluation %s failed", evaluation.id)
            reason = Reason("evaluation_failed", {"kind": type(exc).__name__})
            await asyncio.to_thread(self.store.fail, evaluation.id, reason)
            return
        await asyncio.to_thread(self.store.finish, evaluation.id, report.model_dump(mode="json"))


def configuration(settings: Settings, collection: Collection) -> dict[str, ConfigValue]:
    """What the answers of a run came from, for its report; `zhiku eval` records the same for
    answers in its own process (cli/asking.py LocalAsker.describe)."""
    stored = collection.settings.get("abstain_threshold")
    return {
        "collection": collection.name,
        "embedding_model": collection.embedding_model,
        "backend": settings.llm_backend,
        "llm_model": settings.llm_model or None,
        "retrieval_mode": settings.retrieval_mode,
        "rerank_model": settings.rerank_model or None,
        "query_expansion": settings.query_expansion,
        "abstain_threshold": stored if isinstance(stored, int | float) else None,
    }
