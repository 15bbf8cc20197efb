"""What kind of answer a question asks for, read from its question word (a reason for 为什么/
why, a time for 什么时候/when, a number for 多少/how many), and whether a sentence holds one.
A follow-up such as "为什么？" or "By when?" has no other word of its own to find its sentence
with."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

AnswerType = Literal["reason", "time", "number"]

_ASKS: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    ("reason", re.compile(r"为什么|为何|怎么会|何故|\bwhy\b|\bhow come\b|\bwhat for\b", re.I)),
    (
        "time",
        re.compile(
            r"何时|什么时候|哪一?年|哪一?天|几月|几号|多久|多长时间|\bwhen\b|\bhow long\b"
            r"|\bwhat (?:year|date|day|month|time)\b|^\s*dates?\s*\??\s*$",
            re.I,
        ),
    ),
    ("number", re.compile(r"多少|几[个位种条项次倍年天]|\bhow (?:many|much)\b", re.I)),
)

_MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december"
_HOLDS: dict[AnswerType, re.Pattern[str]] = {
    "reason": re.compile(
        r"因为|由于|否则|所以|因此|为了|以免|以防|导致|原因|说明[:：]|\bbecause\b|\bsince\b"
        r"|\botherwise\b|\bso that\b|\bdue to\b|\bin order to\b|\breasons?\b|\bcaused?\b",
        re.I,
    ),
    "time": re.compile(
        r"\d+\s*(?:年|月|日|号|天|小时|分钟|周|个月|星期)|[一二三四五六七八九十两]+(?:年|个月|天|小时|周)"
        rf"|\b(?:{_MONTHS})\b|\b1[5-9]\d\d\b|\b20\d\d\b"
        r"|\b\d+\s*(?:days?|weeks?|months?|years?|hours?|minutes?)\b"
        r"|\b(?:daily|weekly|monthly|annually|yearly|within|until|before|after)\b",
        re.I,
    ),
    "number": re.compile(r"\d|[一二三四五六七八九十百千万两]+(?:个|位|种|条|项|次|倍|名|人)"),
}


def expected_type(question: str) -> AnswerType | None:
    text = unicodedata.normalize("NFKC", question)
    return next((kind for kind, asks in _ASKS if asks.search(text)), None)


def holds(kind: AnswerType, sentence: str) -> bool:
    return bool(_HOLDS[kind].search(unicodedata.normalize("NFKC", sentence)))
