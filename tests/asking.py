"""One question asked over real HTTP each way a client can: query and chat, JSON and Server-Sent
Events, and the OpenAI-compatible API with and without streaming. Gives what the client saw
streamed and the final answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

MODES = ("query", "query-sse", "chat", "chat-sse", "v1", "v1-stream")


@dataclass
class Asked:
    status: int
    final: str = ""
    """The answer as returned whole (JSON), or in the stream's final event."""
    streamed: str = ""
    """The deltas joined, as a client that shows them as they come sees them."""
    citations: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None

    def texts(self) -> tuple[str, ...]:
        """Every text a client was shown: the final answer, and the deltas when streamed."""
        return (self.final, self.streamed) if self.streamed else (self.final,)


def _events(response: httpx.Response) -> list[tuple[str, str]]:
    events, name = [], "message"
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, line.removeprefix("data: ")))
            name = "message"
    return events


def ask(http: httpx.Client, collection: str, question: str, mode: str) -> Asked:
    stream = mode.endswith(("-sse", "-stream"))
    messages = [{"role": "user", "content": question}]
    if mode.startswith("query"):
        path, body = f"/api/collections/{collection}/query", {"question": question}
    elif mode.startswith("chat"):
        path, body = f"/api/collections/{collection}/chat", {"messages": messages}
    else:
        path, body = "/v1/chat/completions", {"model": collection, "messages": messages}
    body["stream"] = stream
    if not stream:
        response = http.post(path, json=body)
        data = response.json()
        if response.status_code != 200:
            return Asked(response.status_code, error=data.get("error"))
        if mode == "v1":
            content = data["choices"][0]["message"]["content"]
            return Asked(200, content.split("\n\nSources:")[0], citations=data["citations"])
        return Asked(200, data["answer"], citations=data["citations"])
    with http.stream("POST", path, json=body) as response:
        if response.status_code != 200:
            response.read()
            return Asked(response.status_code, error=response.json().get("error"))
        asked = Asked(200)
        for name, data in _events(response):
            if data == "[DONE]":
                break
            event = json.loads(data)
            if "error" in event:
                asked.error = event["error"]
            elif mode == "v1-stream":
                choice = event["choices"][0]
                content = choice["delta"].get("content") or ""
                if not content.startswith("\n\nSources:"):
                    asked.streamed += content
                asked.citations = event.get("citations", asked.citations)
            elif name == "delta":
                asked.streamed += event["text"]
            elif name == "citations":
                asked.final, asked.citations = event["answer"], event["citations"]
        if mode == "v1-stream":
            asked.final = asked.streamed.strip()
        return asked
