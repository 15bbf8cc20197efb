"""The OpenAI chat-completions API, where the model is a collection: existing clients (the
openai SDK, LangChain's ChatOpenAI, Open WebUI) ask Zhiku directly. Citations travel in the
message text (a Sources list) and in an extra `citations` field."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.deps import AnswersDep, CatalogDep, OperationsDep, PrincipalDep, SettingsDep
from app.errors import public_error
from app.openapi_errors import BODY, IN_COLLECTION, errors
from app.questions import check_length, check_messages, top_k_for
from app.schemas import citations_json
from app.streaming import SEPARATOR, event_response, json_event
from core.answer.service import Answer, AnswerService, Prepared
from core.answer.vocabulary import ChatMessage
from core.errors import InvalidInput, ZhikuError, collection_not_found

router = APIRouter(prefix="/v1", tags=["openai"])


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class OpenAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    # Sampling options and the like are accepted and ignored: the collection decides.
    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1)
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=200)
    stream: bool = False


@router.get("/models")
def list_models(catalog: CatalogDep, scopes: PrincipalDep) -> dict[str, Any]:
    """The collections this key may read, as models."""
    return {
        "object": "list",
        "data": [
            {"id": c.name, "object": "model", "created": int(c.created_at), "owned_by": "zhiku"}
            for c in catalog.list_collections()
            if scopes.can_read(c.name)
        ],
    }


def sources(answer: Answer) -> str:
    if not answer.citations:
        return ""
    lines = [
        f"[{c.n}] {c.filename}" + (f", p. {c.page}" if c.page is not None else "")
        for c in answer.citations
    ]
    return "\n\nSources:\n" + "\n".join(lines)


@router.post("/chat/completions", response_model=None, responses=errors(*BODY, *IN_COLLECTION))
async def chat_completions(
    body: ChatCompletionRequest,
    operations: OperationsDep,
    settings: SettingsDep,
    answers: AnswersDep,
    scopes: PrincipalDep,
) -> dict[str, Any] | EventSourceResponse:
    if not scopes.can_read(body.model):
        raise collection_not_found(body.model)
    check_messages([m.text() for m in body.messages], settings)
    collection = operations.collection(body.model)
    turns = [m for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not turns[-1].text().strip():
        raise InvalidInput("chat_needs_user_message")
    question = turns[-1].text()
    check_length(question, settings.max_question_chars)
    answers.screen_question(collection, *(m.text() for m in turns if m.role == "user"))
    history = [ChatMessage(m.role, m.text()) for m in turns[:-1]]  # type: ignore[arg-type]
    _, prepared = await answers.prepare_turn(
        collection, history, question, top_k_for(None, collection), None
    )
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    if body.stream:
        return event_response(_stream(answers, prepared, completion_id, created, body.model))
    answer = await answers.answer(prepared)
    content = answer.text + sources(answer)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(question, content),
        "citations": citations_json(answer),
        "system_fingerprint": answer.backend,
    }


def _usage(question: str, content: str) -> dict[str, int]:
    # An estimate in characters/4: clients display it, none bills by it.
    prompt, completion = max(1, len(question) // 4), max(1, len(content) // 4)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def _stream(
    answers: AnswerService, prepared: Prepared, completion_id: str, created: int, model: str
) -> AsyncIterator[ServerSentEvent]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> ServerSentEvent:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return json_event(body)

    yield chunk({"role": "assistant", "content": ""})
    started = time.perf_counter()
    parts: list[str] = []
    try:
        async for delta in answers.generate(prepared):
            parts.append(delta)
            yield chunk({"content": delta})
    except ZhikuError as exc:
        yield json_event(public_error(exc))
        return
    answer = answers.finish(prepared, "".join(parts), started)
    footer = sources(answer)
    if footer:
        yield chunk({"content": footer})
    yield chunk({}, "stop", citations=citations_json(answer))
    yield ServerSentEvent("[DONE]", sep=SEPARATOR)
