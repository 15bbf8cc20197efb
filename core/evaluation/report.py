"""The evaluation report: what was asked, what came back and how it scored, per question, with
the metrics over the set. A pydantic model, so the JSON a run writes reads back the same."""

from __future__ import annotations

from pydantic import BaseModel, Field, computed_field

ConfigValue = str | int | float | bool | None


class Retrieved(BaseModel):
    """A chunk an answer read, in rank order."""

    filename: str
    page: int | None
    score: float
    text: str = Field(description="the chunk's text, cut at 300 characters")
    hit: bool = Field(description="of the gold file (and page) and holding the answer or evidence")


class QuestionRow(BaseModel):
    item: int = Field(description="the golden set's entry, from 0")
    turn: int | None = Field(description="the turn in its conversation, from 1; null: no turns")
    question: str
    expected: str | None = Field(description="the gold answer; null: not in the documents")
    file: str | None
    page: int | None
    answer: str
    abstained: bool
    evidence: float | None = Field(
        description="the score the abstention decision compared with the threshold"
    )
    hit_rank: int | None = Field(description="rank of the first retrieved hit, from 1")
    contained: bool | None = Field(description="the answer holds the gold answer (answerable)")
    citations: int
    citations_right: int = Field(description="citations of the gold file (and page)")
    citations_verified: int
    timings: dict[str, float] = Field(description="milliseconds per stage, and total_ms")
    retrieved: list[Retrieved]

    @property
    def answerable(self) -> bool:
        return self.expected is not None


class Latency(BaseModel):
    p50_ms: float
    p95_ms: float


class Metrics(BaseModel):
    questions: int
    answerable: int
    unanswerable: int
    hit_at_1: float | None
    hit_at_3: float | None
    hit_at_5: float | None
    mrr_at_10: float | None
    citation_accuracy: float | None
    citations_verified: float | None
    answer_containment: float | None
    abstention_precision: float | None
    abstention_recall: float | None
    abstention_f1: float | None
    latency: dict[str, Latency]


class Calibration(BaseModel):
    """The abstention threshold fitted on the set's evidence scores, and how it abstains."""

    threshold: float
    precision: float
    recall: float
    f1: float
    questions: int


class Difference(BaseModel):
    metric: str
    base: float | None
    other: float | None
    difference: float | None
    low: float | None
    high: float | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def significant(self) -> bool:
        """The interval lies on one side of 0: not noise, at 95%."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


class EvaluationReport(BaseModel):
    config: dict[str, ConfigValue] = Field(description="the configuration the set ran under")
    golden: str = Field(description="the golden set's name")
    created_at: float
    seconds: float
    rows: list[QuestionRow]
    metrics: Metrics
    worst: list[int] = Field(description="indexes into rows: the worst questions, worst first")
    calibration: Calibration | None = None
    comparison: Comparison | None = Field(
        default=None, description="the same set under another configuration (`--compare`)"
    )


class Comparison(BaseModel):
    other: EvaluationReport
    differences: list[Difference] = Field(
        description="each metric of the other configuration minus this one's, with a paired"
        " bootstrap 95% confidence interval"
    )


EvaluationReport.model_rebuild()
