"""Running headers, footers and page numbers of a paged document: the same line (page numbers
aside) at the same place on many pages. They are page furniture, not text: left out of chunks
at ingestion, so that no answer quotes "Edition 1.0 2004-06 GeoBase®" as content."""

from __future__ import annotations

import re
from collections import Counter

from core.answer.quotes import is_page_number, line_key
from ingest.loaders.pdf_layout import PageLayout

_LETTER = re.compile(r"[^\W\d_]")
# A page's running lines are among its few highest and lowest lines (a printer's proof stacks
# a stamp, a file name and margin numbers at the foot).
_EDGE_LINES = 3
# On this many pages a line at a page's edge, at the same height, is furniture; fewer would
# take a table's header row continued over two pages.
_RUNNING_PAGES = 3
# Points: the same template puts a running line at the same height on every page.
_SAME_PLACE = 4.0


def furniture(pages: list[PageLayout]) -> list[set[int]]:
    """For each page, the indexes of its lines that are running lines or page numbers."""
    edges: list[list[tuple[int, tuple[str, int]]]] = []
    seen: Counter[tuple[str, int]] = Counter()
    for page in pages:
        drawn = list(range(len(page.lines)))
        # The highest and lowest lines, and the first and last drawn: a figure's labels can
        # stand higher than the header.
        order = sorted(drawn, key=lambda i: -page.lines[i].y) if page.positioned else drawn
        chosen = order[:_EDGE_LINES] + order[-_EDGE_LINES:] + drawn[:_EDGE_LINES]
        chosen += drawn[-_EDGE_LINES:]
        keys = [(i, _key(page, i)) for i in dict.fromkeys(chosen)]
        edges.append(keys)
        seen.update({key for _, key in keys})
    dropped: list[set[int]] = []
    for page, keys in zip(pages, edges, strict=True):
        drop = {i for i, key in keys if seen[key] >= _RUNNING_PAGES and _LETTER.search(key[0])}
        # A lone number anywhere is a page number or a proof's margin line number.
        drop |= {i for i, line in enumerate(page.lines) if is_page_number(line.text)}
        dropped.append(drop)
    return dropped


def _key(page: PageLayout, index: int) -> tuple[str, int]:
    line = page.lines[index]
    place = round(line.y / _SAME_PLACE) if page.positioned else 0
    return line_key(line.text), place
