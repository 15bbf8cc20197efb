"""Which language a text is in, as far as retrieval and answers care: Chinese or not."""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["zh", "en"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> Language:
    """Chinese when CJK characters outnumber Latin letters by a fifth: a Chinese question
    often carries an English product name, while an English one rarely carries Chinese."""
    cjk = len(_CJK.findall(text))
    latin = len(_LETTER.findall(text))
    return "zh" if cjk and cjk * 5 >= latin else "en"


def passage_language(text: str) -> Language:
    """A passage's language from its start: as sure as reading all of it, at a fraction of the
    cost (fusion reads the language of every candidate of every question)."""
    return detect_language(text[:200])
