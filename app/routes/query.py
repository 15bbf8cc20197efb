"""Questions over a collection: a JSON answer, or Server-Sent Events while it is written."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.deps import AnswersDep, CollectionDep, SettingsDep
from app.errors import error_body
from app.schemas import CitationPublic, QueryRequest, QueryResponse, chunks_public
from core.answer.service import Answer, AnswerService, Prepared
from core.errors import InvalidInput, ZhikuError

router = APIRouter(prefix="/api/collections/{name}", tags=["query"])


@router.post("/query", response_model=QueryResponse)
async def query(
    body: QueryRequest, collection: CollectionDep, settings: SettingsDep, answers: AnswersDep
) -> QueryResponse | StreamingResponse:
    check_length(body.question, settings.max_question_chars)
    prepared = await answers.prepare_async(collection, body.question, body.top_k, body.document_ids)
    if body.stream:
        return StreamingResponse(
            sse(answers, prepared),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return QueryResponse.of(await answers.answer(prepared))


def check_length(question: str, limit: int) -> None:
    if len(question) > limit:
        raise InvalidInput(
            f"the question is {len(question)} characters; the limit is {limit}"
            " (ZHIKU_MAX_QUESTION_CHARS)"
        )


def event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def sse(
    answers: AnswerService,
    prepared: Prepared,
    on_finish: Callable[[Answer], dict[str, object]] | None = None,
) -> AsyncIterator[str]:
    """delta events, then citations, then done; an upstream failure becomes an error event
    (the status line is already sent). A client that goes away cancels this generator, which
    closes the backend's stream and so the upstream request. `on_finish` may add fields to the
    done event (and store the answer)."""
    started = time.perf_counter()
    parts: list[str] = []
    try:
        async for delta in answers.generate(prepared):
            parts.append(delta)
            yield event("delta", {"text": delta})
    except ZhikuError as exc:
        yield event("error", error_body(exc.code, exc.message))
        return
    answer = answers.finish(prepared, "".join(parts), started)
    yield event(
        "citations",
        {
            "answer": answer.text,
            "citations": [CitationPublic.of(c).model_dump() for c in answer.citations],
            "chunks": [c.model_dump() for c in chunks_public(answer)],
        },
    )
    done: dict[str, object] = {
        "abstained": answer.abstained,
        "backend": answer.backend,
        "timings": answer.timings,
    }
    if on_finish is not None:
        done.update(on_finish(answer))
    yield event("done", done)
