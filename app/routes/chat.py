"""Multi-turn chat over a collection, with conversations kept in the catalog."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sse_starlette import EventSourceResponse

from app.deps import AnswersDep, CollectionDep, ConversationsDep, SettingsDep
from app.openapi_errors import BODY, IN_COLLECTION, errors
from app.questions import check_length, check_messages, recent_history
from app.schemas import (
    ChatRequest,
    ChatResponse,
    ConversationPublic,
    QueryResponse,
    citations_json,
)
from app.streaming import answer_events, event_response
from core.answer.service import Answer
from core.answer.vocabulary import ChatMessage
from core.catalog.records import Message

router = APIRouter(
    prefix="/api/collections/{name}", tags=["chat"], responses=errors(*IN_COLLECTION)
)


@router.post("/chat", response_model=ChatResponse, responses=errors(*BODY))
async def chat(
    body: ChatRequest,
    collection: CollectionDep,
    settings: SettingsDep,
    answers: AnswersDep,
    conversations: ConversationsDep,
) -> ChatResponse | EventSourceResponse:
    """With a `conversation_id`, the history comes from the stored conversation and only the
    last message is new; without one, a conversation is started from the messages sent."""
    question = body.messages[-1].content
    check_length(question, settings.max_question_chars)
    check_messages([m.content for m in body.messages], settings)
    answers.screen_question(collection, *(m.content for m in body.messages if m.role == "user"))
    if body.conversation_id:
        stored = conversations.get(collection.id, body.conversation_id)
        history = [ChatMessage(m.role, m.content) for m in stored.messages if m.role != "system"]  # type: ignore[arg-type]
        history = recent_history(history, question, settings)
        conversation_id = stored.id
        new = [Message("user", question)]
    else:
        history = [ChatMessage(m.role, m.content) for m in body.messages[:-1] if m.role != "system"]
        conversation_id = conversations.create(collection.id, question).id
        new = [Message(m.role, m.content) for m in body.messages if m.role != "system"]
    resolved, prepared = await answers.prepare_turn(
        collection, history, question, body.top_k, body.document_ids
    )

    def store(answer: Answer) -> dict[str, object]:
        conversations.append(
            collection.id,
            conversation_id,
            [*new, Message("assistant", answer.text, citations_json(answer))],
        )
        return {"conversation_id": conversation_id, "question": resolved.search}

    if body.stream:
        return event_response(answer_events(answers, prepared, on_finish=store))
    answer = await answers.answer(prepared)
    store(answer)
    return ChatResponse(
        **QueryResponse.of(answer).model_dump(),
        conversation_id=conversation_id,
        question=resolved.search,
    )


@router.get("/conversations")
def list_conversations(
    collection: CollectionDep, conversations: ConversationsDep
) -> list[ConversationPublic]:
    return [ConversationPublic.summary(c) for c in conversations.in_collection(collection.id)]


@router.get("/conversations/{conversation_id}")
def get_conversation(
    conversation_id: str, collection: CollectionDep, conversations: ConversationsDep
) -> ConversationPublic:
    return ConversationPublic.model_validate(conversations.get(collection.id, conversation_id))


@router.delete("/conversations/{conversation_id}", status_code=204)
def delete_conversation(
    conversation_id: str, collection: CollectionDep, conversations: ConversationsDep
) -> Response:
    conversations.delete(collection.id, conversation_id)
    return Response(status_code=204)
