"""Questions over a collection: a JSON answer, or Server-Sent Events while it is written."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sse_starlette import EventSourceResponse

from app.deps import CollectionDep, EngineDep
from app.questions import check_length
from app.schemas import QueryRequest, QueryResponse
from app.streaming import answer_events, event_response
from core.answer.service import AnswerService

router = APIRouter(prefix="/api/collections/{name}", tags=["query"])


def get_answers(request: Request) -> AnswerService:
    service: AnswerService = request.app.state.answers
    return service


AnswersDep = Annotated[AnswerService, Depends(get_answers)]


@router.post("/query", response_model=QueryResponse)
async def query(
    body: QueryRequest, collection: CollectionDep, engine: EngineDep, answers: AnswersDep
) -> QueryResponse | EventSourceResponse:
    check_length(body.question, engine.settings.max_question_chars)
    prepared = await answers.prepare_async(collection, body.question, body.top_k, body.document_ids)
    if body.stream:
        return event_response(answer_events(answers, prepared))
    return QueryResponse.of(await answers.answer(prepared))
