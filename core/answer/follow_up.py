"""Whether a question of a chat leans on what came before it: a pronoun or demonstrative with
nothing before it in the question to refer to ("它的作用是什么？", "When was it released?"), an
ellipsis ("那第二个呢？", "and the second one?"), or too few words to carry a subject of its own
("为什么？", "多少页？"). A question that does not is answered exactly as it would be
alone: the words of earlier turns would only pull retrieval back to the last topic."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import rjieba

from core.lexical_tokens import STOP_WORDS, lexical_tokens

Reason = Literal["pronoun", "ellipsis", "short"]

_PRONOUNS = frozenset(
    """
    it its they them their theirs he him his she her hers former latter
    它 它们 它的 他 他们 她 她们 其 此 该 这 那 这个 那个 这些 那些 这种 那种 这里 那里 这儿 那儿
    上述 前者 后者 这项 这条 这本 这篇 这份 这一 那一 其中 这么 那么 这样 那样
    """.split()
)
# These point outside the question wherever they stand ("What file do I need to use it
# with?", "Windows 10 上还需要它吗？"): a question rarely names a thing and then says "it".
_OBJECT_PRONOUNS = frozenset("it them 它 它们 其中 这么 那么 这样 那样".split())
# A demonstrative before a noun names something ("this template"), but which one only the
# conversation says when the question has little else.
_DEMONSTRATIVES = frozenset("this that these those 这 那 这个 那个 这些 那些 该 此".split())
_QUESTION_WORDS = frozenset(
    """
    what why how when where who whom whose which many much
    什么 为什么 为何 怎么 怎样 怎么样 如何 哪 哪个 哪些 哪里 哪儿 哪一个 多少 几 谁 何时 何 何地
    是否 是不是 吗 呢 呀 吧 请问 多久 多大 多长 多高 哪年 哪一年 哪天 怎么办 什么样 时候 什么时候
    不是 还是 还 也 又 的 了 一 一个 一页 哪一页 请 告诉 我 我们 需要 应该 can do does did
    is are was were be the a an of to for with in on at by from and or
    """.split()
)
# "that" is a pronoun after a verb or preposition ("How big was that stream?"), and joins a
# clause after a noun ("the law that governs it").
_THAT_BEFORE = frozenset("is was are were does did do about of for with in on to".split())
_ELLIPSIS_START = re.compile(
    r"^(?:and|also|what about|how about|what of|and what|and how|same for|"
    r"那|那么|那么说|还有|另外|再|而|那如果|如果是)\b",
    re.IGNORECASE,
)
_ELLIPSIS_END = re.compile(r"(?:呢|的呢)\s*[?？]?\s*$")
_ORDINAL_ONE = re.compile(
    r"\b(?:the\s+)?(?:first|second|third|fourth|last|next|other|previous)?\s*ones?\b"
    r"|(?:第[一二三四五六七八九十\d]+|另一|后一|前一|上一|下一|最后一)(?:个|条|项|种|点|类|款|部分)",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+", re.UNICODE)


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


def _subject_words(tokens: list[str]) -> list[str]:
    """Content words as a reader counts them: whole words (the index's search mode also
    emits the pieces of long words), a single Chinese character not being a subject."""
    return [
        w
        for w in tokens
        if w not in _QUESTION_WORDS
        and w not in _PRONOUNS
        and w not in STOP_WORDS
        and not _ORDINAL_ONE.fullmatch(w)
        and not (len(w) == 1 and not w.isascii())
        and not (len(w) == 1 and w.isalpha())
    ]


def _unresolved_pronoun(question: str, tokens: list[str]) -> bool:
    """A pronoun or demonstrative with no word before it in the question that could be what
    it points at ("What did the Normans call their land?" refers inside itself)."""
    content = set(content_words(question))
    seen_content = False
    previous = ""
    for token in tokens:
        if token in _OBJECT_PRONOUNS or (token == "that" and previous in _THAT_BEFORE):
            return True
        if token in _PRONOUNS and token != "that" and not seen_content:
            return True
        if token in content:
            seen_content = True
        previous = token
    return False


def follow_up_reason(question: str) -> Reason | None:
    """Why the question needs the conversation to be understood; None when it stands alone."""
    text = unicodedata.normalize("NFKC", question).strip()
    tokens = _tokens(text)
    own = _subject_words(tokens)
    ends_open = _ELLIPSIS_END.search(text) is not None
    if _ELLIPSIS_START.search(text) and (len(own) <= 3 or ends_open):
        return "ellipsis"
    if ends_open and len(own) <= 3:
        return "ellipsis"
    if _ORDINAL_ONE.search(text) and len(own) <= 1:
        return "ellipsis"
    if _unresolved_pronoun(text, tokens):
        return "pronoun"
    if len(own) <= 2 and any(t in _DEMONSTRATIVES for t in tokens):
        return "pronoun"
    # One word of its own may be a subject ("什么是窃听？") or not ("超过了怎么办？", "Date?"):
    # resolving costs a standalone question little, as its own word still has to be in the
    # sentence that answers it.
    if len(own) <= 1:
        return "short"
    return None
