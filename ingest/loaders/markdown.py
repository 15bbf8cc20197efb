"""Load Markdown as one section per heading, headings found by a real parser."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from core.errors import LoadError
from core.types import LoadedDocument, Section
from ingest.loaders.markdown_hidden import drop_hidden_markdown
from ingest.loaders.protocol import PageProgress
from ingest.text_encoding import CJK_CHARS, decode_text

MEDIA_TYPE = "text/markdown"

# YAML front matter parses as a thematic break and a setext heading; it is metadata, not a
# heading, so it is cut off before parsing and kept as text of the first section.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
# Chinese Markdown often omits the space after the hashes ("##（一）命名风格"), which CommonMark
# requires; lenient renderers accept it, so the space is added (for parsing only) before CJK.
_CJK_ATX = re.compile(f"^(#{{1,6}})(?=[{CJK_CHARS}])", re.MULTILINE)
_INLINE_TEXT = frozenset({"text", "code_inline"})


class MarkdownLoader:
    def load(self, data: bytes, progress: PageProgress) -> LoadedDocument:
        text = drop_hidden_markdown(decode_text(data))
        sections = split_markdown_sections(text)
        if not sections:
            raise LoadError("file_no_text")
        progress(1, 1)
        return LoadedDocument(media_type=MEDIA_TYPE, pages=1, sections=sections)


def split_markdown_sections(text: str) -> list[Section]:
    """Cut Markdown at its headings (never inside code fences), each section starting with
    its heading line; `offset` is where the section's text starts in `text`."""
    front = _FRONT_MATTER.match(text)
    body_start = front.end() if front else 0
    line_starts = _line_starts(text)
    first_body_line = text.count("\n", 0, body_start)
    cuts: list[tuple[int, tuple[str, ...]]] = [(0, ())]
    stack: list[tuple[int, str]] = []
    tokens = MarkdownIt("commonmark").parse(_CJK_ATX.sub(r"\1 ", text[body_start:]))
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.map is None:
            continue
        level = int(token.tag[1:])
        title = _inline_text(tokens[index + 1]) if index + 1 < len(tokens) else ""
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        start = line_starts[first_body_line + token.map[0]]
        cuts.append((start, tuple(name for _, name in stack)))
    sections: list[Section] = []
    for (start, path), (end, _) in zip(cuts, [*cuts[1:], (len(text), ())], strict=True):
        chunk = text[start:end]
        stripped = chunk.strip()
        if stripped:
            offset = start + len(chunk) - len(chunk.lstrip())
            sections.append(Section(text=stripped, heading_path=path, offset=offset))
    return sections


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(match.end() for match in re.finditer("\n", text))
    return starts


def _inline_text(token: Token) -> str:
    """A heading's words without Markdown markup: `**Bold** \\`code\\`` becomes "Bold code"."""
    children = token.children or []
    words = "".join(child.content for child in children if child.type in _INLINE_TEXT)
    return " ".join((words or token.content).split())
