"""`zhiku eval`: a QA set against a collection. Each line of the set is JSON
`{"file", "page", "question", "answer", "evidence"}` (the format of ../shared/data/qa); a null
answer marks a question the documents cannot answer, which must be refused, not guessed."""

from __future__ import annotations

import json
import re
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ValidationError

from cli.asking import Asker
from core.errors import InvalidInput


class QaItem(BaseModel):
    question: str
    answer: str | None = None
    file: str | None = None
    page: int | None = None
    evidence: str | None = None

    @property
    def answerable(self) -> bool:
        return self.answer is not None

    @property
    def filename(self) -> str | None:
        return PurePosixPath(self.file).name if self.file else None


@dataclass(frozen=True)
class Scored:
    question: str
    answerable: bool
    abstained: bool
    # The next three only for answerable questions.
    retrieved: bool | None
    correct: bool | None
    cited: bool | None
    ms: float


def load_qa(path: Path) -> list[QaItem]:
    items: list[QaItem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(QaItem.model_validate_json(line))
        except ValidationError as exc:
            raise InvalidInput(
                "qa_line_invalid", path=str(path), line=number, problem=exc.errors()[0]["msg"]
            ) from exc
    if not items:
        raise InvalidInput("qa_file_empty", path=str(path))
    return items


_SPACE = re.compile(r"\s+")


def normalized(text: str) -> str:
    """Compared without whitespace (PDF text breaks Chinese lines anywhere), case or
    ligatures."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _same_place(item: QaItem, filename: str, page: int | None) -> bool:
    return filename == item.filename and (item.page is None or page == item.page)


def score(item: QaItem, answer: dict[str, Any], ms: float) -> Scored:
    abstained = bool(answer["abstained"])
    if item.answer is None:
        return Scored(item.question, False, abstained, None, None, None, ms)
    wanted = normalized(item.answer)
    retrieved = any(
        _same_place(item, c["filename"], c["page"]) and wanted in normalized(c["text"])
        for c in answer["chunks"]
    )
    correct = not abstained and wanted in normalized(answer["answer"])
    cited = any(
        c["verified"] and _same_place(item, c["filename"], c["page"]) for c in answer["citations"]
    )
    return Scored(item.question, True, abstained, retrieved, correct, cited, ms)


def run_eval(asker: Asker, items: list[QaItem], top_k: int) -> list[Scored]:
    scored: list[Scored] = []
    for item in items:
        started = time.perf_counter()
        answer = asker.ask(item.question, top_k)
        scored.append(score(item, answer, round((time.perf_counter() - started) * 1000, 1)))
    return scored


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def summarize(scored: list[Scored], top_k: int) -> dict[str, Any]:
    answerable = [s for s in scored if s.answerable]
    unanswerable = [s for s in scored if not s.answerable]
    kept = _rate(sum(not s.abstained for s in answerable), len(answerable))
    refused = _rate(sum(s.abstained for s in unanswerable), len(unanswerable))
    balanced = None if kept is None or refused is None else round((kept + refused) / 2, 3)
    ms = sorted(s.ms for s in scored)
    return {
        "questions": len(scored),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        f"retrieved_at_{top_k}": _rate(sum(bool(s.retrieved) for s in answerable), len(answerable)),
        "answer_correct": _rate(sum(bool(s.correct) for s in answerable), len(answerable)),
        "cited_right_place": _rate(sum(bool(s.cited) for s in answerable), len(answerable)),
        "answered_when_answerable": kept,
        "abstained_when_unanswerable": refused,
        "abstention_balanced_accuracy": balanced,
        "p50_ms": ms[len(ms) // 2] if ms else None,
    }


def report(scored: list[Scored], top_k: int, as_json: bool) -> str:
    summary = summarize(scored, top_k)
    if as_json:
        lines = [json.dumps(asdict(s), ensure_ascii=False) for s in scored]
        return "\n".join([*lines, json.dumps(summary)])

    def mark(value: bool | None) -> str:
        return "-" if value is None else ("yes" if value else "NO")

    rows = ["verdict  retrieved  correct  cited  abstained  question"]
    for s in scored:
        right = s.correct if s.answerable else s.abstained
        rows.append(
            f"{'ok' if right else 'WRONG':7}  {mark(s.retrieved):9}  {mark(s.correct):7}  "
            f"{mark(s.cited):5}  {'yes' if s.abstained else 'no':9}  {s.question[:70]}"
        )
    rows.append("")
    rows.extend(f"{key}: {value}" for key, value in summary.items())
    return "\n".join(rows)
