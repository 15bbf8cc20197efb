"""The length limit on a question, checked by every route that answers one before any work."""

from __future__ import annotations

from core.errors import InvalidInput


def check_length(question: str, limit: int) -> None:
    if len(question) > limit:
        raise InvalidInput(
            f"the question is {len(question)} characters; the limit is {limit}"
            " (ZHIKU_MAX_QUESTION_CHARS)"
        )
