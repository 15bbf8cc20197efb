"""A golden set: the questions to ask a collection and what a right answer holds. Read from JSON
lines (the README's format, the format of ../shared/data/qa), a SQuAD-format JSON file, or a CSV
with the same columns as the JSON lines (and an optional `conversation` column: consecutive rows
with the same value are one conversation's turns)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import InvalidInput


class GoldenItem(BaseModel):
    """One question, or (`turns`) several asked as one conversation, each a GoldenItem of its
    own. A null `answer` marks a question the documents cannot answer: it must be refused."""

    model_config = ConfigDict(extra="ignore")

    question: str | None = Field(default=None, min_length=1)
    answer: str | None = None
    file: str | None = None
    page: int | None = None
    evidence: str | None = None
    turns: list[GoldenItem] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _question_or_turns(self) -> GoldenItem:
        if (self.question is None) == (self.turns is None):
            raise ValueError("an entry needs either a question or a list of turns")
        if self.turns is not None and any(t.turns is not None for t in self.turns):
            raise ValueError("a turn cannot hold turns of its own")
        if self.answer is not None and not self.answer.strip():
            raise ValueError("an answer is null or holds text")
        return self

    @property
    def asked(self) -> list[GoldenItem]:
        """The questions in the order they are asked: its turns, or itself."""
        return self.turns if self.turns is not None else [self]

    @property
    def answerable(self) -> bool:
        return self.answer is not None

    @property
    def filename(self) -> str | None:
        """The gold file's name: answers cite file names, a set may give paths."""
        return PurePosixPath(self.file).name if self.file else None


def parse_golden(data: bytes, filename: str) -> list[GoldenItem]:
    """The set's entries; InvalidInput naming the line (or SQuAD entry) and the problem."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("golden_not_text", source=filename) from exc
    if filename.lower().endswith(".csv"):
        items = _csv(text, filename)
    else:
        whole = _whole_json(text)
        if isinstance(whole, dict) and isinstance(whole.get("data"), list):
            items = _squad(whole["data"], filename)
        elif isinstance(whole, list):
            items = [_item(entry, filename, number) for number, entry in enumerate(whole, 1)]
        else:
            items = _json_lines(text, filename)
    if not items:
        raise InvalidInput("golden_empty", source=filename)
    return items


def _whole_json(text: str) -> Any:
    """The file as one JSON value, or None when it is not one (JSON lines are not)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def _item(entry: Any, filename: str, line: int) -> GoldenItem:
    try:
        return GoldenItem.model_validate(entry)
    except ValidationError as exc:
        raise InvalidInput(
            "golden_line_invalid", source=filename, line=line, problem=_problem(exc)
        ) from exc


def _json_lines(text: str, filename: str) -> list[GoldenItem]:
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                "golden_line_invalid", source=filename, line=number, problem=exc.msg
            ) from exc
        items.append(_item(entry, filename, number))
    return items


_COLUMNS = ("question", "answer", "file", "page", "evidence")


def _csv(text: str, filename: str) -> list[GoldenItem]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or "question" not in [f.strip() for f in reader.fieldnames]:
        raise InvalidInput("golden_csv_no_question", source=filename)
    # Each entry's turns, in order; a row outside any conversation is an entry of one.
    groups: list[tuple[str, list[GoldenItem]]] = []
    for row in reader:
        # The reader's count, not the row's index: a quoted cell may span lines.
        number = reader.line_num
        cells = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        # An empty cell is a null: an empty answer marks a question without one.
        entry = {c: cells[c] for c in _COLUMNS if cells.get(c)}
        item = _item(entry, filename, number)
        key = cells.get("conversation", "")
        if key and groups and groups[-1][0] == key:
            groups[-1][1].append(item)
        else:
            groups.append((key, [item]))
    return [turns[0] if not key else GoldenItem(turns=turns) for key, turns in groups]


def _squad(articles: list[Any], filename: str) -> list[GoldenItem]:
    """SQuAD v1/v2: each question with its first answer (none when impossible) and its
    paragraph as the evidence. An article's title names no file, so none is set."""
    items = []
    for a, article in enumerate(articles):
        for p, paragraph in enumerate(_entries(article, "paragraphs", f"data[{a}]", filename)):
            where = f"data[{a}].paragraphs[{p}]"
            context = paragraph.get("context")
            for q, qa in enumerate(_entries(paragraph, "qas", where, filename)):
                answers = qa.get("answers") or []
                texts = [x.get("text") for x in answers if isinstance(x, dict)]
                impossible = bool(qa.get("is_impossible")) or not texts
                entry = {
                    "question": qa.get("question"),
                    "answer": None if impossible else texts[0],
                    "evidence": context if isinstance(context, str) else None,
                }
                try:
                    items.append(GoldenItem.model_validate(entry))
                except ValidationError as exc:
                    raise InvalidInput(
                        "golden_entry_invalid",
                        source=filename,
                        where=f"{where}.qas[{q}]",
                        problem=_problem(exc),
                    ) from exc
    return items


def _entries(parent: Any, key: str, where: str, filename: str) -> list[dict[str, Any]]:
    value = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidInput(
            "golden_entry_invalid", source=filename, where=where, problem=f"no list of {key}"
        )
    return value
