"""What kind of answer a question asks for, read from its question word (a reason for 为什么/
why, a time for 什么时候/when, a number for 多少/how many, a person for 谁/who, a place for
哪里/where), and whether a sentence holds one the question does not already name. A follow-up
such as "为什么？" or "By when?" has no other word of its own to find its sentence with; a
question that stands alone is not answered by a sentence that shares its words but lacks what
it asks for ("how many campuses" by a sentence that names a campus and gives no number)."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import rjieba

AnswerType = Literal["reason", "time", "number", "person", "place"]

_ASKS: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    (
        "reason",
        # Not 称之为什么 (what is it called).
        re.compile(
            r"(?<![称成作视认改译名之])为什么|为何|怎么会|何故|\bwhy\b|\bhow come\b|\bwhat for\b",
            re.I,
        ),
    ),
    (
        "time",
        re.compile(
            r"何时|什么时候|哪一?年|哪一?天|几月|几号|几点|多久|多长时间|\bwhen\b|\bhow long\b"
            r"|\bwhat (?:year|date|day|month|time)\b|^\s*dates?\s*\??\s*$",
            re.I,
        ),
    ),
    (
        "number",
        re.compile(
            r"多少|几[个位种条项次倍年天]|多[大高远重长宽深厚]|比例|人口数"
            r"|\bhow (?:many|much|big|large|far|tall|high|old|heavy|wide|deep)\b"
            r"|\b(?:what|which) (?:\w+ )?(?:number|figure|amount|percentage|proportion|count)\b",
            re.I,
        ),
    ),
    ("person", re.compile(r"谁|哪位|何人|什么人|\bwho(?:m|se)?\b", re.I)),
    (
        "place",
        re.compile(
            r"哪里|哪儿|在哪|何处|何地|哪[个座]?(?:国家?|城市|省份?|地区|地方)|什么地[方区]"
            r"|\bwhere\b|\b(?:what|which) (?:country|city|state|region|place|town)\b",
            re.I,
        ),
    ),
)

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
)
_MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december"
_HOLDS: dict[AnswerType, re.Pattern[str]] = {
    "reason": re.compile(
        r"因为|由于|否则|所以|因此|为了|以免|以防|导致|原因|说明[:：]|\bbecause\b|\bsince\b"
        r"|\botherwise\b|\bso that\b|\bdue to\b|\bin order to\b|\breasons?\b|\bcaused?\b",
        re.I,
    ),
    "time": re.compile(
        r"\d+\s*(?:年|月|日|号|天|小时|分钟|周|个月|星期|点|时)"
        r"|[一二三四五六七八九十两半]+(?:年|个月|天|小时|周|点|时|分钟)"
        rf"|\b(?:{_MONTHS})\b|\b1[5-9]\d\d\b|\b20\d\d\b"
        rf"|\b(?:\d+|{_NUMBER_WORDS}|a few|several|a)\s*"
        r"(?:days?|weeks?|months?|years?|hours?|minutes?)\b"
        r"|\b\d{1,2}(?::\d\d)?\s*(?:a\.?m|p\.?m)\b|\b\d{1,2}:\d\d\b"
        r"|[一二三四五六七八九十]+月|[春夏秋冬]季|[一二三四1-4]季度|世纪|年代|\bQ[1-4]\b|\bquarters?\b"
        r"|\b[1-9]\d{2,3}s?\b|\b\d{1,2}(?:st|nd|rd|th) century\b"
        r"|\b(?:daily|weekly|monthly|annually|yearly|within|until|before|after)\b",
        re.I,
    ),
    "number": re.compile(
        # A Chinese numeral before its measure word (十本, 两角, 三个).
        r"\d+(?:[.,]\d+)*|[零〇一二三四五六七八九十百千万亿两半]+(?=[\u4e00-\u9fff])"
        rf"|\b(?:{_NUMBER_WORDS}|hundred|thousand|million|billion|dozen)\b",
        re.I,
    ),
}
# An "一" before a measure word is Chinese's indefinite article (一个街道办事处), not a count;
# nor are 一些 (some) and 一样 (alike), matched the same way.
_ARTICLE = frozenset({"一"})
# jieba's part-of-speech tags for names of people, and of places, and organisations (which
# answer "who" as often as people do: 经营权归谁所有).
_NAME_TAGS: dict[AnswerType, tuple[str, ...]] = {"person": ("nr", "nt"), "place": ("ns", "nt")}
_CJK = re.compile(r"[\u3400-\u9fff]")
# A capitalised English word not at the sentence's start: a name.
_CAPITALISED = re.compile(r"(?<=[\s(\"'])[A-Z][\w'.-]*")
_PLACE_PHRASE = re.compile(
    r"\b(?:in|at|to|into|near|from|inside|outside|on|under|behind|beside)\s+"
    r"(?:the\s+|a\s+|an\s+)?([a-z][\w-]+)",
    re.I,
)
_NOT_NAMES = frozenset(
    "i the a an in on at of this that these those it he she they we you his her their its"
    " january february march april may june july august september october november december"
    " monday tuesday wednesday thursday friday saturday sunday".split()
)


def expected_type(question: str) -> AnswerType | None:
    text = unicodedata.normalize("NFKC", question)
    return next((kind for kind, asks in _ASKS if asks.search(text)), None)


def holds(kind: AnswerType, sentence: str, question: str = "") -> bool:
    """Whether the sentence holds the kind of answer, one the question does not already say
    (a year the question names is not the time it asks for)."""
    text = unicodedata.normalize("NFKC", sentence)
    asked = unicodedata.normalize("NFKC", question).casefold()
    if kind in _NAME_TAGS:
        return any(name.casefold() not in asked for name in _names(kind, text))
    return any(
        m.group() not in _ARTICLE and m.group().casefold() not in asked
        for m in _HOLDS[kind].finditer(text)
    )


def _names(kind: AnswerType, text: str) -> list[str]:
    if _CJK.search(text):
        return [w for w, tag in rjieba.tag(text) if tag.startswith(_NAME_TAGS[kind])]
    names = [
        m.group().rstrip(".")
        for m in _CAPITALISED.finditer(text)
        if m.group().rstrip(".").casefold() not in _NOT_NAMES
    ]
    if kind == "place":
        # English says where with a preposition as often as with a name ("to a lakeside
        # campus", "in the archive").
        names += _PLACE_PHRASE.findall(text)
    return names
