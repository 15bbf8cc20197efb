"""Limits on what a question brings to the LLM, checked by every route that answers one before
any work: the question's length, and the messages of a chat and their characters in all."""

from __future__ import annotations

from collections.abc import Sequence

from app.schemas import DEFAULT_TOP_K
from core.answer.vocabulary import ChatMessage
from core.catalog.records import Collection
from core.errors import InvalidInput
from core.settings import Settings


def check_length(question: str, limit: int) -> None:
    if len(question) > limit:
        raise InvalidInput(
            f"the question is {len(question)} characters; the limit is {limit}"
            " (ZHIKU_MAX_QUESTION_CHARS)"
        )


def check_messages(texts: Sequence[str], settings: Settings) -> None:
    """The messages a request sends, the question included: all of them reach the LLM."""
    if len(texts) > settings.max_chat_messages:
        raise InvalidInput(
            f"the request has {len(texts)} messages; the limit is {settings.max_chat_messages}"
            " (ZHIKU_MAX_CHAT_MESSAGES): start a new conversation or send fewer"
        )
    chars = sum(len(t) for t in texts)
    if chars > settings.max_chat_chars:
        raise InvalidInput(
            f"the messages have {chars} characters in all; the limit is"
            f" {settings.max_chat_chars} (ZHIKU_MAX_CHAT_CHARS)"
        )


def recent_history(
    history: Sequence[ChatMessage], question: str, settings: Settings
) -> list[ChatMessage]:
    """The latest turns of a stored conversation that fit the limits beside the question: the
    client did not send them, so a long conversation goes on with what it said last."""
    kept: list[ChatMessage] = []
    room = settings.max_chat_chars - len(question)
    for message in reversed(history):
        if len(kept) + 1 >= settings.max_chat_messages or len(message.content) > room:
            break
        kept.append(message)
        room -= len(message.content)
    return kept[::-1]


def top_k_for(requested: int | None, collection: Collection) -> int:
    """The request's top_k, else the knowledge base's (set in the page), else the default."""
    if requested is not None:
        return requested
    stored = collection.settings.get("top_k")
    return stored if isinstance(stored, int) else DEFAULT_TOP_K
