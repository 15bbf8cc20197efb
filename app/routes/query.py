"""Questions over a collection: a JSON answer, or Server-Sent Events while it is written."""

from __future__ import annotations

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from app.deps import AnswersDep, CollectionDep, SettingsDep
from app.openapi_errors import BODY, IN_COLLECTION, errors
from app.questions import check_length, top_k_for
from app.schemas import QueryRequest, QueryResponse
from app.streaming import answer_events, event_response

router = APIRouter(
    prefix="/api/collections/{name}", tags=["query"], responses=errors(*IN_COLLECTION)
)


@router.post("/query", response_model=QueryResponse, responses=errors(*BODY))
async def query(
    body: QueryRequest, collection: CollectionDep, settings: SettingsDep, answers: AnswersDep
) -> QueryResponse | EventSourceResponse:
    check_length(body.question, settings.max_question_chars)
    answers.screen_question(collection, body.question)
    prepared = await answers.prepare_async(
        collection, body.question, top_k_for(body.top_k, collection), body.document_ids
    )
    if body.stream:
        return event_response(answer_events(answers, prepared))
    return QueryResponse.of(await answers.answer(prepared))
