"""Pydantic models of the evaluation routes (app/routes/evaluations.py): a golden set sent as
JSON, and a run as the API shows it, with its report once done."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.schemas import TopK
from core.catalog.evaluations import Evaluation
from core.evaluation.report import EvaluationReport

# Questions one run may ask (a conversation's turns each count): a run holds the service's
# answering for its whole length, and its report is one catalog row.
MAX_QUESTIONS = 2000


class EvaluationCreate(BaseModel):
    """A golden set as JSON, for clients that do not upload a file."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_QUESTIONS,
        description="the golden set's entries, each as one JSON line of a golden file holds it"
        " (question, answer, file, page, evidence; or turns)",
    )
    name: str = Field(
        default="golden.json",
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f]+$",
        description="the set's name, shown with its report",
    )
    top_k: TopK | None = Field(default=None, description="null: the knowledge base's setting")


class EvaluationOptions(BaseModel):
    """The form fields beside an uploaded golden file."""

    top_k: TopK | None = None


class EvaluationProgress(BaseModel):
    questions_done: int
    questions_total: int


class EvaluationPublic(BaseModel):
    id: str
    # running, done or failed.
    state: str
    golden_file: str
    top_k: int
    progress: EvaluationProgress
    error: str | None = Field(description="Why the run failed, in English")
    error_code: str | None
    error_params: dict[str, Any] | None
    created_at: float
    updated_at: float
    finished_at: float | None
    report: EvaluationReport | None = Field(
        default=None,
        description="Once done: the metrics, each question's row and the worst questions;"
        " null in a list of runs",
    )

    @classmethod
    def of(cls, e: Evaluation, with_report: bool = True) -> EvaluationPublic:
        return cls(
            id=e.id,
            state=e.state.value,
            golden_file=e.golden_file,
            top_k=e.top_k,
            progress=EvaluationProgress(
                questions_done=e.questions_done, questions_total=e.questions_total
            ),
            error=e.error,
            error_code=e.error_code,
            error_params=e.error_params,
            created_at=e.created_at,
            updated_at=e.updated_at,
            finished_at=e.finished_at,
            report=EvaluationReport.model_validate(e.report)
            if with_report and e.report is not None
            else None,
        )
