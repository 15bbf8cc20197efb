"""Tables on a PDF page, found from the lines' cells: a run of lines split into cells by wide
gaps, whose cells start at a shared set of column positions. A cell's text wrapped onto the
next lines (lines of one cell, indented to a later column) stays in its row."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.loaders.pdf_layout import Line

# Points either side of a column's start within which a cell starts in that column.
_ALIGN = 6.0
# A table has a header row and at least this many rows of cells in all: two lines that
# happen to line up (an example and a counter-example, spaced out) are no table.
_MIN_ROWS = 3
# A line this many font sizes below the previous one is past the table's end.
_ROW_GAP = 3.0
# A table's grid is mostly filled: more empty cells than this share, and it is no table.
_MAX_EMPTY = 0.3
# Dot leaders of a table of contents ("Overview ........ 6").
_LEADER = re.compile(r"(?:\s?[.·…]){4,}\s?")


@dataclass
class PdfTable:
    first: int
    """Index of its first line on the page."""
    last: int
    """Index of its last line (inclusive)."""
    rows: list[list[str]]


def find_tables(lines: list[Line], skip: set[int]) -> list[PdfTable]:
    """The tables among a page's lines (indexes in `skip` are furniture, never in a table)."""
    tables: list[PdfTable] = []
    index = 0
    while index < len(lines):
        table = _table_at(lines, index, skip)
        if table is None:
            index += 1
            continue
        tables.append(table)
        index = table.last + 1
    return tables


def _table_at(lines: list[Line], start: int, skip: set[int]) -> PdfTable | None:
    if start in skip or len(lines[start].cells) < 2 or lines[start].mono:
        return None
    members = [start]
    left = lines[start].x0
    for index in range(start + 1, len(lines)):
        if index in skip:
            continue
        line, previous = lines[index], lines[members[-1]]
        step = previous.y - line.y
        if step <= 0 or step > _ROW_GAP * max(line.size, previous.size):
            break
        if (len(line.cells) < 2 and line.x0 < left + line.size) or line.mono:
            break
        members.append(index)
    while members and len(lines[members[-1]].cells) < 2:
        members.pop()
    multi = [i for i in members if len(lines[i].cells) >= 2]
    if len(multi) < _MIN_ROWS:
        return None
    columns = _columns([lines[i] for i in multi])
    if len(columns) < 2 or not _aligned([lines[i] for i in multi], columns):
        return None
    rows: list[list[str]] = []
    for index in members:
        line = lines[index]
        if len(line.cells) >= 2 or not rows:
            rows.append([""] * len(columns))
        for cell in line.cells:
            column = _column_of(cell.x0, columns)
            text = _LEADER.sub(" ", cell.text).strip()
            rows[-1][column] = f"{rows[-1][column]} {text}".strip()
    cells = [cell for row in rows for cell in row]
    if sum(not cell for cell in cells) > _MAX_EMPTY * len(cells):
        return None  # words spaced out on a few lines ("ForceCode / UserDO / HtmlDTO")
    return PdfTable(members[0], members[-1], rows)


def _columns(lines: list[Line]) -> list[float]:
    """Column starts: the header row's cells, and the table's left edge (a first column whose
    header cell is empty). Body cells are often aligned right or centred, so their starts do
    not mark columns."""
    left = min(line.x0 for line in lines)
    starts = [cell.x0 for cell in lines[0].cells]
    if starts[0] - left > _ALIGN:
        starts.insert(0, left)
    return starts


def _aligned(lines: list[Line], columns: list[float]) -> bool:
    """Most cells of most rows start at a column: prose with an italic word or a formula with
    its number at the margin does not line up like that, row after row."""
    good = 0
    for line in lines:
        on = sum(any(abs(cell.x0 - c) <= _ALIGN for c in columns) for cell in line.cells)
        good += on * 2 >= len(line.cells)
    return good * 3 >= len(lines) * 2 and len(lines) >= _MIN_ROWS


def _column_of(x: float, columns: list[float]) -> int:
    column = 0
    for index, start in enumerate(columns):
        if start <= x + _ALIGN:
            column = index
    return column
