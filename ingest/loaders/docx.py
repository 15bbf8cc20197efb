"""Load a Word (.docx) body, paragraphs and tables in order, as one section per heading."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table, _Cell
from lxml import etree

from core.errors import LoadError
from core.types import LoadedDocument, Section
from ingest.loaders import DOCX
from ingest.loaders.archive import reason, refuse_zip_bomb
from ingest.loaders.docx_hidden import drop_hidden_runs
from ingest.loaders.protocol import PageProgress

_SEPARATOR = "\n\n"

# Built-in style names as python-docx reports them ("Heading 1", "Title") and the names that
# Chinese Word and WPS give their own copies ("标题 1", "标题").
_HEADING = re.compile(r"(?:heading|标题)\s*([1-9])", re.IGNORECASE)
_TITLE = re.compile(r"title|标题", re.IGNORECASE)

# python-docx and lxml report broken packages through these; all mean "corrupt file".
_DOCX_FAILURES: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    PackageNotFoundError,
    etree.LxmlError,
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    EOFError,
    zlib.error,
)


@dataclass
class _Part:
    heading_path: tuple[str, ...]
    blocks: list[str] = field(default_factory=list)


class DocxLoader:
    def load(self, data: bytes, progress: PageProgress) -> LoadedDocument:
        refuse_zip_bomb(data, "docx_corrupt", "docx_too_large")
        try:
            parts = _read_parts(data)
        except _DOCX_FAILURES as exc:
            raise LoadError("docx_corrupt", problem=reason(exc)) from exc
        sections: list[Section] = []
        offset = 0
        for part in parts:
            text = _SEPARATOR.join(part.blocks)
            if not text.strip():
                continue
            sections.append(Section(text=text, heading_path=part.heading_path, offset=offset))
            offset += len(text) + len(_SEPARATOR)
        if not sections:
            raise LoadError("docx_no_text")
        progress(1, 1)
        return LoadedDocument(media_type=DOCX, pages=1, sections=sections)


def _read_parts(data: bytes) -> list[_Part]:
    document = docx.Document(io.BytesIO(data))
    drop_hidden_runs(document.element.body)
    # Paragraph.style looks each style up by a linear search, seconds on a long document;
    # one map from style id to name makes it a dict lookup.
    style_names = {style.style_id: style.name or "" for style in document.styles}
    default_style = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
    default_name = default_style.name if default_style is not None else ""
    parts = [_Part(heading_path=())]
    headings: list[tuple[int, str]] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            text = _table_text(block)
            if text:
                parts[-1].blocks.append(text)
            continue
        text = _clean(block.text)
        if not text:
            continue
        style_id = block._p.style
        level = _heading_level(
            style_names.get(style_id, default_name) if style_id else default_name
        )
        if level is not None:
            while headings and headings[-1][0] >= level:
                headings.pop()
            headings.append((level, text))
            parts.append(_Part(heading_path=tuple(title for _, title in headings)))
        parts[-1].blocks.append(text)
    return parts


def _heading_level(style_name: str) -> int | None:
    """Outline level of a heading style (Title is 0, above Heading 1), None for body text."""
    name = style_name.strip()
    match = _HEADING.fullmatch(name)
    if match is not None:
        return int(match.group(1))
    if _TITLE.fullmatch(name):
        return 0
    return None


def _table_text(table: Table) -> str:
    rows: list[str] = []
    for row in table.rows:
        # Iterating the row's own cells, not `row.cells`, which repeats a merged cell once per
        # grid column it spans; a cell's lines are joined so that a row stays one line.
        cells = [" ".join(_Cell(tc, table).text.split()) for tc in row._tr.tc_lst]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _clean(text: Any) -> str:
    """Tabs and runs of spaces used for layout become one space; lines keep their breaks."""
    lines = (" ".join(line.split()) for line in str(text).splitlines())
    return "\n".join(line for line in lines if line)
