"""Query expansion with a generative backend: other phrasings of the question (`multi`) or a
hypothetical answer written as a passage would be (`hyde`) reach passages whose words differ
from the question's. The extractive backend cannot write, so it never expands."""

from __future__ import annotations

import logging
import re

from core.answer.vocabulary import ChatMessage, Prompt
from core.errors import BackendUnavailable
from core.llm.protocol import LLM

log = logging.getLogger("zhiku.answer")

MULTI = """Write {count} different search queries that would find passages answering the user's
question: vary the words (synonyms, the terms a document would use), keep the question's
language and meaning. One query per line, no numbering, nothing else."""
HYDE = """Write a short passage (2 to 4 sentences) that answers the user's question the way a
document about the subject would state it, in the question's language. Plausible details are
fine: the passage is only used to find real ones. Reply with the passage only."""
_QUERIES = 3
_NUMBERING = re.compile(r"^\s*(?:[-*•]|\d+[.)、])\s*")


async def expand_query(llm: LLM, question: str, mode: str) -> list[str]:
    """Extra texts to retrieve with; [] when expansion is off, impossible or failing (the
    question alone is then retrieved: an expansion must never cost the answer)."""
    if mode == "none" or not llm.generative:
        return []
    system = MULTI.format(count=_QUERIES) if mode == "multi" else HYDE
    prompt = Prompt(
        messages=[ChatMessage("system", system), ChatMessage("user", question)],
        question=question,
    )
    try:
        text = "".join([delta async for delta in llm.stream(prompt)]).strip()
    except BackendUnavailable as exc:
        log.warning("query expansion failed, retrieving with the question alone: %s", exc.message)
        return []
    if mode == "hyde":
        return [text] if text else []
    lines = (_NUMBERING.sub("", line).strip() for line in text.splitlines())
    return [line for line in dict.fromkeys(lines) if line and line != question][:_QUERIES]
