"""A golden set's questions asked of an AnswerService in this process (`zhiku eval` without a
running service, evaluation jobs in the service): a question alone as `POST …/query` answers it,
a later turn of a conversation as `POST …/chat` does, and each answer as the API's JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.schemas import QueryResponse
from core.answer.service import AnswerService
from core.answer.vocabulary import ChatMessage
from core.catalog.records import Collection
from core.evaluation.runner import AskTurn


def service_ask_turn(service: AnswerService, collection: Collection, top_k: int) -> AskTurn:
    """An AskTurn answering from `collection`, reading `top_k` passages per question."""

    async def ask(question: str, earlier: Sequence[tuple[str, str]]) -> dict[str, Any]:
        if earlier:
            history = [
                message
                for asked, answered in earlier
                for message in (ChatMessage("user", asked), ChatMessage("assistant", answered))
            ]
            _, prepared = await service.prepare_turn(collection, history, question, top_k)
        else:
            prepared = await service.prepare_async(collection, question, top_k)
        return QueryResponse.of(await service.answer(prepared)).model_dump()

    return ask
