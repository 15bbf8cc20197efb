"""Whether a question of a chat leans on what came before it: a pronoun or demonstrative with
nothing before it in the question to refer to ("它的作用是什么？", "When was it released?"), an
ellipsis ("那第二个呢？", "and the second one?"), or too few words to carry a subject of its own
("为什么？", "How many pages?"). A question that does not is answered exactly as it would be
alone: the words of earlier turns would only pull retrieval back to the last topic."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import rjieba

from core.lexical_tokens import lexical_tokens

Reason = Literal["pronoun", "ellipsis", "short"]

_PRONOUNS = frozenset(
    """
    it its they them their theirs he him his she her hers former latter
    它 它们 它的 他 他们 她 她们 其 此 该 这 那 这个 那个 这些 那些 这种 那种 这里 那里 这儿 那儿
    上述 前者 后者 这项 这条 这本 这篇 这份 这一 那一 此外
    """.split()
)
# A demonstrative before a noun names something ("this template"), but which one only the
# conversation says when the question has little else.
_DEMONSTRATIVES = frozenset("this that these those 这 那 这个 那个 这些 那些 该 此".split())
_QUESTION_WORDS = frozenset(
    """
    what why how when where who whom whose which many much
    什么 为什么 为何 怎么 怎样 怎么样 如何 哪 哪个 哪些 哪里 哪儿 哪一个 多少 几 谁 何时 何 何地
    是否 是不是 吗 呢 呀 吧 请问 多久 多大 多长 多高 哪年 哪一年 哪天
    """.split()
)
_ELLIPSIS_START = re.compile(
    r"^(?:and|also|what about|how about|what of|and what|and how|same for|"
    r"那|那么|那么说|还有|另外|再|而|那如果|如果是)\b",
    re.IGNORECASE,
)
_ELLIPSIS_END = re.compile(r"(?:呢|的呢)\s*[?？]?\s*$")
_ORDINAL_ONE = re.compile(
    r"\b(?:the\s+)?(?:first|second|third|fourth|last|next|other|previous)\s+ones?\b"
    r"|(?:第[一二三四五六七八九十\d]+|另一|后一|前一|上一|下一|最后一)(?:个|条|项|种|点|类|款|部分)",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+", re.UNICODE)
# Two words of its own are a subject ("LaTeX 版本", "default theme"); one rarely is.
_SHORT = 1


def _tokens(text: str) -> list[str]:
    normalised = unicodedata.normalize("NFKC", text).lower()
    return [w for piece in rjieba.cut(normalised) for w in _WORD.findall(piece)]


def content_words(question: str) -> list[str]:
    """The question's own words that could name what it is about."""
    return [
        w
        for w in lexical_tokens(question)
        if w not in _QUESTION_WORDS and w not in _PRONOUNS and not _ORDINAL_ONE.fullmatch(w)
    ]


def _unresolved_pronoun(question: str) -> bool:
    """A pronoun or demonstrative with no word before it in the question that could be what
    it points at ("What did the Normans call their land?" refers inside itself)."""
    content = set(content_words(question))
    seen_content = False
    for token in _tokens(question):
        if token in _PRONOUNS and not seen_content:
            return True
        if token in content:
            seen_content = True
    return False


def follow_up_reason(question: str) -> Reason | None:
    """Why the question needs the conversation to be understood; None when it stands alone."""
    text = unicodedata.normalize("NFKC", question).strip()
    own = content_words(text)
    if _ELLIPSIS_START.search(text) and (len(own) <= 3 or _ELLIPSIS_END.search(text)):
        return "ellipsis"
    if _ELLIPSIS_END.search(text) and len(own) <= 3:
        return "ellipsis"
    if _ORDINAL_ONE.search(text) and len(own) <= 2:
        return "ellipsis"
    if len(own) <= _SHORT:
        return "short"
    if _unresolved_pronoun(text):
        return "pronoun"
    demonstrative = any(t in _DEMONSTRATIVES for t in _tokens(text))
    if demonstrative and len(own) <= 2:
        return "pronoun"
    return None
