"""Untrusted text made safe to index and to show a model: characters a reader cannot see but a
model reads (Unicode tag characters, zero-width and bidirectional controls, variation-selector
runs) are removed, and the chat-template and role tokens of the common model families are
broken so that no tokenizer reads them as special while a person still reads them."""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

# Zero-width joiner: it joins emoji into one picture (👩‍💻), the only place a reader sees it.
_ZWJ = "\u200d"
# Letters and marks that render as nothing: the combining grapheme joiner, Hangul fillers,
# Khmer inherent vowels and Mongolian free variation selectors.
_BLANK = frozenset("\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5\u180b\u180c\u180d\u180f")
# Line and paragraph separators are invisible line breaks: kept as breaks.
_LINE_BREAKS = str.maketrans({"\u2028": "\n", "\u2029": "\n\n"})
# One variation selector picks a glyph's form (text or emoji); a run of them, or the
# supplementary ones, can carry hidden bytes ("emoji smuggling"): the first one is kept.
_SELECTOR_RUN = re.compile("([\ufe00-\ufe0f])[\ufe00-\ufe0f\U000e0100-\U000e01ef]+")
_SUPPLEMENTARY_SELECTORS = re.compile("[\U000e0100-\U000e01ef]+")

# Special tokens of chat templates, as they are written in text:
# ChatML / Qwen / Phi / Llama 3 / Command-R `<|im_start|>`, `<|eot_id|>`, `<|system|>`;
# DeepSeek's fullwidth bars `<｜begin▁of▁sentence｜>`; Llama 2 / Mistral `[INST]`, `<<SYS>>`,
# `[SYSTEM_PROMPT]`, `<s>`; Gemma `<start_of_turn>`, `<bos>`; ChatGLM `[gMASK]`, `<sop>`.
_TOKENS = re.compile(
    r"<\|[^|<>\s]{1,40}\|>"
    r"|<｜[^｜<>\s]{1,40}｜>"
    r"|<</?SYS>>"
    r"|\[/?(?:INST|SYS|SYSTEM_PROMPT|TOOL_CALLS|AVAILABLE_TOOLS|TOOL_RESULTS|gMASK|sMASK)\]"
    r"|</?(?:s|bos|eos|pad|unk|sop|eop|start_of_turn|end_of_turn|start_of_image"
    r"|end_of_image)>",
    re.IGNORECASE,
)
# Each delimiter of a token swapped for a look-alike that Unicode normalisation (NFKC) leaves
# as it is, so no tokenizer's normaliser turns it back into the special token.
_SAFE_DELIMITERS = str.maketrans({"<": "‹", ">": "›", "[": "⁅", "]": "⁆"})


@cache
def _invisible() -> re.Pattern[str]:
    """Format characters (Unicode category Cf: tag characters, zero-width spaces and joiners,
    bidirectional marks, embeddings, overrides and isolates, the soft hyphen, the BOM), the
    blank letters and marks of `_BLANK`, and control characters other than tab and line
    breaks, as one character class."""
    ranges: list[list[int]] = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        category = unicodedata.category(char)
        format_char = category == "Cf" and char != _ZWJ
        if format_char or char in _BLANK or (category == "Cc" and char not in "\t\n\r"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    # As ranges: a class of single characters is several times slower to match.
    spans = (re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)
    return re.compile("[" + "".join(spans) + "]+")


def strip_invisible(text: str) -> str:
    """The text as a reader sees it: without invisible format and control characters, with a
    zero-width joiner kept only between two pictographs."""
    text = _invisible().sub("", text.translate(_LINE_BREAKS))
    if _ZWJ in text:
        text = "".join(_joined_emoji(text))
    return _SUPPLEMENTARY_SELECTORS.sub("", _SELECTOR_RUN.sub(r"\1", text))


def _joined_emoji(text: str) -> list[str]:
    kept: list[str] = []
    for i, char in enumerate(text):
        if char != _ZWJ or (0 < i < len(text) - 1 and _pictograph(text[i - 1], text[i + 1])):
            kept.append(char)
    return kept


def _pictograph(before: str, after: str) -> bool:
    return unicodedata.category(after) == "So" and (
        unicodedata.category(before) == "So" or before == "\ufe0f"
    )


def neutralise_tokens(text: str) -> str:
    """Chat-template and role tokens with their delimiters swapped: `<|im_start|>` becomes
    `‹|im_start|›`, which reads the same and tokenizes as ordinary text."""
    return _TOKENS.sub(lambda m: m.group().translate(_SAFE_DELIMITERS), text)


def sanitize(text: str) -> str:
    """Both, in the order that matters: an invisible character inside a token (`<|im_​start|>`)
    must not hide it from neutralising."""
    return neutralise_tokens(strip_invisible(text))
