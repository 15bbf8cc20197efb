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
        raise InvalidInput("question_too_long", length=len(question), limit=limit)


def check_messages(texts: Sequence[str], settings: Settings) -> None:
    """The messages a request sends, the question included: all of them reach the LLM."""
    if len(texts) > settings.max_chat_messages:
        raise InvalidInput("too_many_messages", count=len(texts), limit=settings.max_chat_messages)
    chars = sum(len(t) for t in texts)
    if chars > settings.max_chat_chars:
        raise InvalidInput("messages_too_long", chars=chars, limit=settings.max_chat_chars)


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
