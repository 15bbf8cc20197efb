"""What a rendered Markdown file never shows, removed before its text is read: HTML comments
and HTML elements hidden by their attributes or styles (ingest/loaders/html_hidden.py).
Code blocks are left as they are: a comment there is shown as code."""

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
