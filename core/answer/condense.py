"""A follow-up ("and the second one?") becomes a standalone question before retrieval: an LLM
rewrites it from the history; the extractive backend, which cannot write, adds the salient
words of the recent user turns instead."""

from __future__ import annotations

from collections.abc import Sequence

from core.answer.vocabulary import ChatMessage, Prompt
from core.lexical_tokens import lexical_tokens
from core.llm.protocol import LLM

REWRITE = """Rewrite the last user message as one standalone question that can be understood
without the conversation. Keep its language. Reply with the question only."""

_SALIENT_TERMS = 8
_TURNS = 2


def salient_terms(history: Sequence[ChatMessage], question: str) -> list[str]:
    """Words of the most recent user turns that the question lacks, longest first."""
    asked = set(lexical_tokens(question))
    terms: list[str] = []
    recent = [m for m in history if m.role == "user"][-_TURNS:]
    for message in reversed(recent):
        for word in sorted(dict.fromkeys(lexical_tokens(message.content)), key=len, reverse=True):
            if word not in asked and word not in terms and len(word) > 1:
                terms.append(word)
    return terms[:_SALIENT_TERMS]


async def standalone_question(llm: LLM, history: Sequence[ChatMessage], question: str) -> str:
    if not any(m.role == "user" for m in history):
        return question
    if not llm.generative:
        return " ".join([question, *salient_terms(history, question)])
    transcript = "\n".join(f"{m.role}: {m.content}" for m in history[-6:])
    prompt = Prompt(
        messages=[
            ChatMessage("system", REWRITE),
            ChatMessage("user", f"{transcript}\nuser: {question}"),
        ],
        question=question,
    )
    rewritten = "".join([delta async for delta in llm.stream(prompt)]).strip()
    return rewritten or question
