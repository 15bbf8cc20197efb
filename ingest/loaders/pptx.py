"""Load a PowerPoint deck (.pptx): each slide's title, text, tables and speaker notes as the
slide's page, so a citation names the slide. A table too long for one chunk becomes runs of
rows under its header (ingest/loaders/table_rows.py)."""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from typing import Any

import pptx
from lxml import etree
from pptx.exc import PackageNotFoundError
from pptx.shapes.group import GroupShape

from core.errors import LoadError
from core.types import LoadedDocument
from ingest.loaders import PPTX
from ingest.loaders.archive import ZIP_FAILURES, reason, refuse_zip_bomb
from ingest.loaders.protocol import PageProgress
from ingest.loaders.table_rows import RUN_TOKENS, SectionList, add_table, estimate_tokens, row_line

_SEPARATOR = "\n\n"
_FAILURES: tuple[type[BaseException], ...] = (
    *ZIP_FAILURES,
    PackageNotFoundError,
    etree.LxmlError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    zlib.error,
)


class PptxLoader:
    def load(self, data: bytes, progress: PageProgress) -> LoadedDocument:
        refuse_zip_bomb(data, "pptx_corrupt")
        out = SectionList()
        try:
            slides = list(pptx.Presentation(io.BytesIO(data)).slides)
            for number, slide in enumerate(slides, 1):
                # Hidden slides are left out, as hidden text is in Word and web pages.
                if slide.element.get("show") not in ("0", "false"):
                    _read_slide(slide, number, out)
                progress(number, len(slides))
        except _FAILURES as exc:
            raise LoadError("pptx_corrupt", problem=reason(exc)) from exc
        if not out.sections:
            raise LoadError("pptx_no_text")
        return LoadedDocument(media_type=PPTX, pages=len(slides), sections=out.sections)


def _read_slide(slide: Any, number: int, out: SectionList) -> None:
    title_shape = slide.shapes.title
    title = _frame_text(title_shape.text_frame) if title_shape is not None else ""
    heading = (" ".join(title.split()),) if title else ()
    blocks = [title] if title else []
    long_tables: list[list[list[str]]] = []
    for shape in _reading_order(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if shape.has_text_frame:
            blocks.append(_frame_text(shape.text_frame))
        elif getattr(shape, "has_table", False):
            rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
            text = "\n".join(filter(None, (row_line(cells) for cells in rows)))
            if estimate_tokens(text) <= RUN_TOKENS:
                blocks.append(text)
            else:
                long_tables.append(rows)
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        blocks.append(_frame_text(slide.notes_slide.notes_text_frame))
    out.add(_SEPARATOR.join(block for block in blocks if block), number, heading)
    for rows in long_tables:
        add_table(out, enumerate(rows, 1), heading, page=number)


def _reading_order(shapes: Any) -> Iterator[Any]:
    """Shapes top to bottom, then left to right, the shapes of a group in its place: the
    order of the file is the order they were drawn in, not read in."""
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        if isinstance(shape, GroupShape):
            yield from _reading_order(shape.shapes)
        else:
            yield shape


def _frame_text(frame: Any) -> str:
    """A text frame's paragraphs, one a line; line breaks inside a paragraph kept."""
    lines = (
        " ".join(line.split())
        for paragraph in frame.paragraphs
        for line in paragraph.text.replace("\v", "\n").splitlines()
    )
    return "\n".join(line for line in lines if line)
