"""Multi-turn chat over a collection, with conversations kept in the catalog: asking, answering
the last question again, renaming, limiting to some documents, deleting."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Response
from sse_starlette import EventSourceResponse

from app.deps import AnswersDep, CollectionDep, ConversationsDep, SettingsDep
from app.openapi_errors import BODY, IN_COLLECTION, errors
from app.questions import check_length, check_messages, recent_history, top_k_for
from app.schemas import (
    ChatRequest,
    ChatResponse,
    ConversationPublic,
    ConversationUpdate,
    QueryResponse,
    RegenerateRequest,
    citations_json,
)
from app.streaming import answer_events, event_response
from core.answer.service import Answer, AnswerService, Prepared
from core.answer.vocabulary import ChatMessage
from core.catalog.records import Message
from core.errors import Conflict

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
    last message is new; without one, a conversation is started from the messages sent.
    `document_ids` are kept with the conversation: later questions search the same documents
    until a request names others."""
    question = body.messages[-1].content
    check_length(question, settings.max_question_chars)
    check_messages([m.content for m in body.messages], settings)
    answers.screen_question(collection, *(m.content for m in body.messages if m.role == "user"))
    wanted = None if body.document_ids is None else (body.document_ids or None)
    if body.conversation_id:
        stored = conversations.get(collection.id, body.conversation_id)
        if body.document_ids is not None and wanted != stored.document_ids:
            stored = conversations.limit_to(collection.id, stored.id, wanted)
        history = [ChatMessage(m.role, m.content) for m in stored.messages if m.role != "system"]  # type: ignore[arg-type]
        history = recent_history(history, question, settings)
        conversation_id = stored.id
        document_ids = stored.document_ids
        new = [Message("user", question)]
    else:
        history = [ChatMessage(m.role, m.content) for m in body.messages[:-1] if m.role != "system"]
        conversation_id = conversations.create(collection.id, question, wanted).id
        document_ids = wanted
        new = [Message(m.role, m.content) for m in body.messages if m.role != "system"]
    resolved, prepared = await answers.prepare_turn(
        collection, history, question, top_k_for(body.top_k, collection), document_ids
    )

    def store(answer: Answer) -> dict[str, object]:
        conversations.append(
            collection.id,
            conversation_id,
            [*new, Message("assistant", answer.text, citations_json(answer))],
        )
        return {"conversation_id": conversation_id, "question": resolved.search}

    return await _respond(answers, prepared, body.stream, store)


@router.post(
    "/conversations/{conversation_id}/regenerate",
    response_model=ChatResponse,
    responses=errors(*BODY, 409),
)
async def regenerate(
    conversation_id: str,
    body: RegenerateRequest,
    collection: CollectionDep,
    settings: SettingsDep,
    answers: AnswersDep,
    conversations: ConversationsDep,
) -> ChatResponse | EventSourceResponse:
    """The last question answered again, over the conversation's documents; the new answer
    replaces the stored one once it is complete (a failed or stopped one leaves it)."""
    stored = conversations.get(collection.id, conversation_id)
    turns = [m for m in stored.messages if m.role != "system"]
    last = max((i for i, m in enumerate(turns) if m.role == "user"), default=None)
    if last is None:
        raise Conflict("conversation_has_no_question", conversation=conversation_id)
    question = turns[last].content
    history = [ChatMessage(m.role, m.content) for m in turns[:last]]  # type: ignore[arg-type]
    history = recent_history(history, question, settings)
    resolved, prepared = await answers.prepare_turn(
        collection, history, question, top_k_for(body.top_k, collection), stored.document_ids
    )

    def store(answer: Answer) -> dict[str, object]:
        conversations.replace_last_answer(
            collection.id,
            conversation_id,
            Message("assistant", answer.text, citations_json(answer)),
        )
        return {"conversation_id": conversation_id, "question": resolved.search}

    return await _respond(answers, prepared, body.stream, store)


async def _respond(
    answers: AnswerService,
    prepared: Prepared,
    stream: bool,
    store: Callable[[Answer], dict[str, object]],
) -> ChatResponse | EventSourceResponse:
    if stream:
        return event_response(answer_events(answers, prepared, on_finish=store))
    answer = await answers.answer(prepared)
    stored = store(answer)
    return ChatResponse(
        **QueryResponse.of(answer).model_dump(),
        conversation_id=str(stored["conversation_id"]),
        question=str(stored["question"]),
    )


@router.get("/conversations")
def list_conversations(
    collection: CollectionDep, conversations: ConversationsDep
) -> list[ConversationPublic]:
    """Most recently used first, without their messages."""
    return [ConversationPublic.summary(c) for c in conversations.in_collection(collection.id)]


@router.get("/conversations/{conversation_id}")
def get_conversation(
    conversation_id: str, collection: CollectionDep, conversations: ConversationsDep
) -> ConversationPublic:
    return ConversationPublic.model_validate(conversations.get(collection.id, conversation_id))


# Conversations belong to whoever may read the collection (the chat that makes one needs no
# more), so a reader renames and deletes them too.
@router.patch("/conversations/{conversation_id}", responses=errors(*BODY))
def update_conversation(
    conversation_id: str,
    body: ConversationUpdate,
    collection: CollectionDep,
    conversations: ConversationsDep,
) -> ConversationPublic:
    """A new `title`, or the `document_ids` its next questions search ([] or null: all)."""
    conversations.get(collection.id, conversation_id)
    if body.title is not None:
        conversations.rename(collection.id, conversation_id, body.title)
    if "document_ids" in body.model_fields_set:
        conversations.limit_to(collection.id, conversation_id, body.document_ids or None)
    return ConversationPublic.model_validate(conversations.get(collection.id, conversation_id))


@router.delete("/conversations/{conversation_id}", status_code=204)
def delete_conversation(
    conversation_id: str, collection: CollectionDep, conversations: ConversationsDep
) -> Response:
    conversations.delete(collection.id, conversation_id)
    return Response(status_code=204)
