"""A table as text that keeps its rows together: one row to a line, cells between " | ", and,
where a table is longer than a chunk, its header row repeated at the head of every block of
rows, so that a chunk holding any row also says what its columns are ("what is the value of X
in row Y" finds the row and the column's name in one chunk)."""

from __future__ import annotations

import re

CELL_SEPARATOR = " | "
# A block of rows this many word pieces long, by the estimate below, fits a chunk
# (settings.chunk_tokens is 254 by default) with room for the splitter's own overlap.
_BLOCK_TOKENS = 160
_WIDE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def row_text(cells: list[str]) -> str:
    return CELL_SEPARATOR.join(" ".join(cell.split()) for cell in cells).strip()


def table_blocks(rows: list[list[str]]) -> list[str]:
    """The table's rows in blocks of lines, the first row (its header) opening each block.
    Blocks go between blank lines, where the splitter cuts first."""
    lines = [row_text(row) for row in rows if any(cell.strip() for cell in row)]
    if len(lines) < 2:
        return lines
    header, body = lines[0], lines[1:]
    blocks: list[list[str]] = [[header]]
    size = _estimate_tokens(header)
    for line in body:
        tokens = _estimate_tokens(line)
        if len(blocks[-1]) > 1 and size + tokens > _BLOCK_TOKENS:
            blocks.append([header])
            size = _estimate_tokens(header)
        blocks[-1].append(line)
        size += tokens
    return ["\n".join(block) for block in blocks]


def _estimate_tokens(text: str) -> int:
    """e5's word pieces, roughly: one per CJK character, one per four other characters."""
    wide = len(_WIDE.findall(text))
    return wide + (len(text) - wide) // 4 + 1


_PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_DELIMITER_ROW = re.compile(r"^\s*\|(?:\s*:?-{3,}:?\s*\|)+\s*$")


def markdown_tables(markdown: str) -> str:
    """Markdown with each pipe table (as trafilatura writes a web page's tables) in the form
    of `table_blocks`: the delimiter row dropped, the header row repeated where it is long."""
    lines = markdown.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        end = index
        while end < len(lines) and _PIPE_ROW.match(lines[end]):
            end += 1
        if end - index >= 2:
            rows = [
                [cell.strip() for cell in line.strip().strip("|").split("|")]
                for line in lines[index:end]
                if not _DELIMITER_ROW.match(line)
            ]
            out.append("\n\n".join(table_blocks(rows)))
            index = end
        else:
            out.append(lines[index])
            index += 1
    return "\n".join(out)
