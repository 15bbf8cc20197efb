"""A chat's question is answered as it would be alone unless it leans on what came before
(follow_up.py decides). A follow-up is resolved from the conversation: an LLM rewrites it as a
standalone question; the extractive backend, which cannot write, searches with the topic words
of the turns it refers to and answers with sentences that hold the question's own words, those
borrowed words counting for less."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.answer.follow_up import follow_up_reason
from core.answer.vocabulary import ChatMessage, Prompt
from core.lexical_tokens import lexical_tokens
from core.llm.protocol import LLM

REWRITE = """Rewrite the last user message as one standalone question that can be understood
without the conversation. Keep its language. Reply with the question only."""

_BORROWED_TERMS = 6


@dataclass(frozen=True)
class Resolved:
    """What a chat turn asks (`question`, for the answer), what retrieval searches for, the
    words taken from earlier turns, and the turns the prompt carries (none when the question
    stands alone, so the history cannot change its answer)."""

    question: str
    search: str
    borrowed: tuple[str, ...] = ()
    history: tuple[ChatMessage, ...] = ()


def topic_turns(history: Sequence[ChatMessage]) -> list[str]:
    """The user turns a follow-up refers to, newest first: back to and including the latest
    one that stood on its own (a chain of follow-ups shares its topic)."""
    turns: list[str] = []
    for message in reversed(history):
        if message.role != "user":
            continue
        turns.append(message.content)
        if follow_up_reason(message.content) is None:
            break
    return turns


def borrowed_terms(history: Sequence[ChatMessage], question: str) -> list[str]:
    """Words of the turns the question refers to that it lacks, the newest turn's first,
    longest first within a turn."""
    asked = set(lexical_tokens(question))
    terms: list[str] = []
    for turn in topic_turns(history):
        for word in sorted(dict.fromkeys(lexical_tokens(turn)), key=len, reverse=True):
            if word not in asked and word not in terms and len(word) > 1:
                terms.append(word)
    return terms[:_BORROWED_TERMS]


async def resolve(llm: LLM, history: Sequence[ChatMessage], question: str) -> Resolved:
    if not any(m.role == "user" for m in history) or follow_up_reason(question) is None:
        return Resolved(question, question)
    if not llm.generative:
        borrowed = borrowed_terms(history, question)
        search = " ".join([question, *borrowed])
        return Resolved(question, search, tuple(borrowed), tuple(history))
    transcript = "\n".join(f"{m.role}: {m.content}" for m in history[-6:])
    prompt = Prompt(
        messages=[
            ChatMessage("system", REWRITE),
            ChatMessage("user", f"{transcript}\nuser: {question}"),
        ],
        question=question,
    )
    rewritten = "".join([delta async for delta in llm.stream(prompt)]).strip() or question
    return Resolved(rewritten, rewritten, (), tuple(history))
