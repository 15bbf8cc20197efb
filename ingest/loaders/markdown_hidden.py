"""What a rendered Markdown file never shows, removed before its text is read: HTML comments,
HTML elements hidden by their attributes or styles (ingest/loaders/html_hidden.py), and the
tags of inline HTML (`<br><span style="color:green">正例</span>` reads as "正例"; left in,
they reached answers and took a chunk's room). Code blocks and code spans are left as they
are: a tag there is shown as code."""

from __future__ import annotations

import re

import lxml.html
from lxml import etree
from markdown_it import MarkdownIt

from ingest.loaders.html_hidden import drop_hidden

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
# An inline element hidden by its own attributes: <span style="display:none">…</span>.
_HIDDEN_INLINE = re.compile(
    r"<(\w+)\b[^>]*?(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d])"
    r"|\shidden(?=[\s>=/])|aria-hidden\s*=\s*[\"']?true)[^>]*>.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)


# Inline elements whose tags a reader never sees; a line break or block reads as a space.
_INLINE_TAG = re.compile(
    r"</?(?:span|font|b|i|u|s|em|strong|small|big|sub|sup|mark|del|ins|a|abbr|cite|q|kbd"
    r"|var|samp|center|div|p|br|img|code|tt)\b[^<>]*>",
    re.IGNORECASE,
)
_BREAKING = re.compile(r"<(?:br|/?p|/?div)\b", re.IGNORECASE)
_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1", re.DOTALL)


def _without_tags(inline: str) -> str:
    """Inline Markdown without HTML tags, outside its code spans."""
    kept: list[str] = []
    cursor = 0
    for code in _CODE_SPAN.finditer(inline):
        kept.append(_INLINE_TAG.sub(_tag_text, inline[cursor : code.start()]))
        kept.append(code.group(0))
        cursor = code.end()
    kept.append(_INLINE_TAG.sub(_tag_text, inline[cursor:]))
    return "".join(kept)


def _tag_text(tag: re.Match[str]) -> str:
    return " " if _BREAKING.match(tag.group(0)) else ""


def drop_hidden_markdown(text: str) -> str:
    if "<" not in text:
        return text
    lines = text.splitlines(keepends=True)
    for token in MarkdownIt("commonmark").parse(text):
        if token.map is None or token.type not in ("html_block", "inline"):
            continue
        first, last = token.map
        original = "".join(lines[first:last])
        visible = _HIDDEN_INLINE.sub("", _COMMENT.sub("", original))
        if token.type == "html_block" and visible.strip():
            visible = _visible_html(visible)
        elif token.type == "inline":
            visible = _without_tags(visible)
        lines[first:last] = [visible, *([""] * (last - first - 1))]
    return "".join(lines)


def _visible_html(block: str) -> str:
    """An HTML block without its hidden elements, still as HTML."""
    try:
        wrapper = lxml.html.fragment_fromstring(block, create_parent="div")
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return block
    drop_hidden(wrapper)
    inner = (wrapper.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in wrapper
    )
    return inner if inner.endswith("\n") else inner + "\n"
