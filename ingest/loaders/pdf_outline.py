"""A PDF's outline (its bookmarks): the section titles, their nesting and the page (and height
on it, where the bookmark says) each one opens at."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader

log = logging.getLogger(__name__)

# Bookmarks nested deeper than this are folded into their parent level's.
MAX_LEVEL = 6
# A hostile outline can nest or loop without end; real books have a few hundred entries.
_MAX_ENTRIES = 5000


@dataclass(frozen=True)
class OutlineEntry:
    level: int
    title: str
    page: int
    """0-based page index."""
    top: float | None
    """Height on the page the bookmark opens at, in points from the bottom, when it says."""


def read_outline(reader: PdfReader) -> list[OutlineEntry]:
    """The outline in document order; empty when the PDF has none or it cannot be read (a
    broken outline costs the headings, never the document)."""
    entries: list[OutlineEntry] = []
    try:
        _walk(reader, reader.outline, 1, entries)
    except Exception as exc:  # pypdf surfaces broken outlines as many error types
        log.warning("pdf outline unreadable: %s", type(exc).__name__)
        return []
    # The outline's own order is the reading order (on a two-column page a later section can
    # open higher up); only an entry pointing back to an earlier page is moved.
    entries.sort(key=lambda e: e.page)
    return entries


def _walk(reader: PdfReader, items: list[Any], level: int, entries: list[OutlineEntry]) -> None:
    for item in items:
        if len(entries) >= _MAX_ENTRIES:
            return
        if isinstance(item, list):
            _walk(reader, item, min(level + 1, MAX_LEVEL), entries)
            continue
        title = " ".join(str(item.title or "").split())
        page = reader.get_destination_page_number(item)
        if not title or page is None or page < 0:
            continue
        top = item.get("/Top")
        entries.append(OutlineEntry(level, title, page, float(top) if top is not None else None))
