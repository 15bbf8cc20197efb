"""A code listing in a typewriter font, whose comments line up like a column, is read as lines,
not as a table (ingest/loaders/pdf_tables.py); the font is kept through a page checkpoint."""

from __future__ import annotations

from ingest.loaders.pdf_layout import Cell, Line, PageLayout, dump_layout, load_layout
from ingest.loaders.pdf_tables import find_tables

LISTING = [
    ("\\zhlipsum[2-4]", "% Can be specified as a-b"),
    ("\\zhlipsum[4,12,3-8]", "% A single number is also acceptable"),
    ("\\zhlipsum[-10,40-]", "% Produce paragraphs 1-10 and 40-50"),
    ("\\zhlipsum[-]", "% Produce all paragraphs, i.e. 1-50"),
]


def _lines(mono: bool) -> list[Line]:
    return [
        Line(700.0 - 12 * i, 10.0, False, [Cell(72, 160, code), Cell(250, 420, note)], mono=mono)
        for i, (code, note) in enumerate(LISTING)
    ]


def test_aligned_lines_in_a_typewriter_font_are_no_table() -> None:
    assert find_tables(_lines(mono=False), set()) != []
    assert find_tables(_lines(mono=True), set()) == []


def test_a_checkpointed_page_keeps_its_lines_typewriter_and_bold_marks() -> None:
    lines = _lines(mono=True)
    lines[0].bold = True
    loaded = load_layout(dump_layout(PageLayout(612.0, 792.0, lines)))
    assert [(line.mono, line.bold) for line in loaded.lines] == [(True, True)] + [(True, False)] * 3


def test_a_checkpoint_written_before_typewriter_marks_still_loads() -> None:
    stored = dump_layout(PageLayout(612.0, 792.0, _lines(mono=False)))
    assert "[700.0, 10.0, 0," in stored
    loaded = load_layout(stored.replace("[700.0, 10.0, 0,", "[700.0, 10.0, true,"))
    assert loaded.lines[0].bold and not loaded.lines[0].mono
