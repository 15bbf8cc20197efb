"""Tables as runs of whole rows, each run starting with the table's header row: a run is sized
to fit one chunk, so a chunk that holds a row also names its columns, and "what is X in row Y"
finds the row with its header. Used by the sheet, CSV and slide loaders; a loader of tables
in other formats can use it as well."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from core.types import Section

# Just under the default chunk of 254 word pieces: the estimate below is never under the
# true count on real rows (sparse rows of empty cells come closest), so a run fits one chunk.
# A run that still comes out longer (a collection with smaller chunks) is split by the
# splitter at row ends (rows are lines); only its later part then lacks the header.
RUN_TOKENS = 240

# Filled cells read from one workbook or CSV file (10,000 rows of 20 columns): a larger one
# fails, naming where it passed the limit, rather than being cut short, since answers from a
# silently truncated table would be wrong without a sign of it; it would also take hours to
# embed on a CPU.
MAX_CELLS = 200_000

# The rows looked at for a header: a title and a note or two may sit above it.
_HEADER_WINDOW = 10
_CELL_SEPARATOR = " | "
_SECTION_SEPARATOR = "\n\n"
# Runs of digits, runs of Latin letters, and single other characters (CJK, punctuation) but
# spaces. Measured on bilingual sheets, IDs, dates, decimals and sparse rows, the estimate was
# never under e5's true count.
_RUNS = re.compile(r"[0-9]+|[A-Za-z]+|\S")


def estimate_tokens(text: str) -> int:
    """An over-estimate of e5's word pieces in `text`, cheap enough for every row: a cell
    separator " | " is two ("▁", "|"), a CJK character or a punctuation mark one, a run of
    digits one per two, a run of letters one per three, each run at least one."""
    separators = text.split().count("|")
    total = 2 * separators + 1
    for run in _RUNS.findall(text):
        if run[0].isdigit():
            total += (len(run) + 1) // 2
        elif run[0].isascii() and run[0].isalpha():
            total += (len(run) + 2) // 3
        else:
            total += len(run)
    return total - separators


def row_line(cells: Sequence[str]) -> str:
    """One row as one line: a cell's own line breaks and runs of spaces become one space, and
    an empty cell is nothing between two separators ("a | | c")."""
    cleaned = [" ".join(cell.split()) for cell in cells]
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    return " ".join(_CELL_SEPARATOR.join(cleaned).split())


@dataclass(frozen=True)
class RowRun:
    first: int
    last: int
    text: str


def row_runs(
    header: str, rows: Iterable[tuple[int, str]], budget: int = RUN_TOKENS
) -> Iterator[RowRun]:
    """Runs of (row number, line) rows, each `header` line first, none over `budget` tokens
    unless one row alone is."""
    header_tokens = estimate_tokens(header) if header else 0
    lines: list[str] = []
    first = last = 0
    used = header_tokens
    for number, line in rows:
        cost = estimate_tokens(line)
        if lines and used + cost > budget:
            yield RowRun(first, last, _join(header, lines))
            lines, used = [], header_tokens
        if not lines:
            first = number
        lines.append(line)
        last = number
        used += cost
    if lines:
        yield RowRun(first, last, _join(header, lines))


def _join(header: str, lines: list[str]) -> str:
    return "\n".join([header, *lines] if header else lines)


class SectionList:
    """Sections in reading order with their offsets: within each page's text for paged
    formats, within the whole text otherwise, as if the sections were joined by blank lines."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self._offsets: dict[int | None, int] = {}

    def add(self, text: str, page: int | None = None, heading_path: tuple[str, ...] = ()) -> None:
        text = text.strip()
        if not text:
            return
        offset = self._offsets.get(page, 0)
        self.sections.append(
            Section(text=text, page=page, heading_path=heading_path, offset=offset)
        )
        self._offsets[page] = offset + len(text) + len(_SECTION_SEPARATOR)


def rows_label(first: int, last: int) -> str:
    """The heading that cites a run of rows; the web page renders it in the reader's
    language (app/web/js/location.js reads this exact form)."""
    return f"row {first}" if first == last else f"rows {first}–{last}"


def add_table(
    out: SectionList,
    rows: Iterable[tuple[int, Sequence[str]]],
    heading: tuple[str, ...] = (),
    page: int | None = None,
) -> None:
    """A table as its header row, then runs of its other rows, each a section headed
    `heading` + its row range. Rows above the header (a sheet's title, a note on units) are a
    section of their own."""
    filled = (
        (number, line, sum(1 for cell in cells if cell.strip()))
        for number, cells in rows
        if (line := row_line(cells))
    )
    opening = list(itertools.islice(filled, _HEADER_WINDOW))
    if not opening:
        return
    at = _header_at([width for _, _, width in opening])
    if at:
        above = opening[:at]
        text = "\n".join(line for _, line, _ in above)
        out.add(text, page, (*heading, rows_label(above[0][0], above[-1][0])))
    header_number, header, _ = opening[at]
    body = itertools.chain(opening[at + 1 :], filled)
    added = False
    for run in row_runs(header, ((number, line) for number, line, _ in body)):
        out.add(run.text, page, (*heading, rows_label(run.first, run.last)))
        added = True
    if not added:
        out.add(header, page, (*heading, rows_label(header_number, header_number)))


def _header_at(widths: list[int]) -> int:
    """Which of a table's first rows is its header: the first as wide as half its widest
    early row. A title above a sheet fills one cell of a row; the header fills most."""
    wanted = max(2, (max(widths) + 1) // 2)
    return next((i for i, width in enumerate(widths) if width >= wanted), 0)
