"""Streamed answers as Server-Sent Events: the response every stream is sent in, and our API's
events (delta, then citations, then done; error when the backend fails mid-answer)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

from sse_starlette import EventSourceResponse, ServerSentEvent

from app.errors import public_error
from app.schemas import chunks_public, citations_json
from core.answer.service import Answer, AnswerService, Prepared
from core.errors import ZhikuError

# Lines end in "\n" alone, as they always have: scripts that split the stream on "\n\n" keep
# working.
SEPARATOR = "\n"
# A comment line (": ping …") while the backend thinks, so proxies that drop idle connections
# keep the stream open; EventSource, the openai SDK and our page skip comments.
PING_SECONDS = 15
# On SIGTERM, answers under way get this long to finish before their streams are closed; under
# Docker's default stop timeout (10 s), so they end cleanly rather than by SIGKILL.
SHUTDOWN_GRACE_SECONDS = 8.0


def event_response(events: AsyncIterator[ServerSentEvent]) -> EventSourceResponse:
    """A client that goes away cancels `events`, which closes the backend's stream and so the
    upstream request."""
    return EventSourceResponse(
        events,
        headers={"Cache-Control": "no-cache"},
        ping=PING_SECONDS,
        sep=SEPARATOR,
        shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
    )


def json_event(data: object, event: str | None = None) -> ServerSentEvent:
    return ServerSentEvent(json.dumps(data, ensure_ascii=False), event=event, sep=SEPARATOR)


async def answer_events(
    answers: AnswerService,
    prepared: Prepared,
    on_finish: Callable[[Answer], dict[str, object]] | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """An upstream failure becomes an error event (the status line is already sent).
    `on_finish` may add fields to the done event (and store the answer)."""
    started = time.perf_counter()
    parts: list[str] = []
    try:
        async for delta in answers.generate(prepared):
            parts.append(delta)
            yield json_event({"text": delta}, "delta")
    except ZhikuError as exc:
        yield json_event(public_error(exc), "error")
        return
    answer = answers.finish(prepared, "".join(parts), started)
    yield json_event(
        {
            "answer": answer.text,
            "citations": citations_json(answer),
            "chunks": [c.model_dump() for c in chunks_public(answer)],
        },
        "citations",
    )
    done: dict[str, object] = {
        "abstained": answer.abstained,
        "backend": answer.backend,
        "timings": answer.timings,
    }
    if on_finish is not None:
        done.update(on_finish(answer))
    yield json_event(done, "done")
