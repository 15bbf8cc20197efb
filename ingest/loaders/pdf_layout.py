"""A PDF page's visible text as positioned lines: each line's cells (runs of text with no wide
gap inside), its baseline, font size and weight. This is what one page contributes to the
document's structure (headings, running headers, tables, paragraphs: pdf_structure.py), and
what a parse checkpoint keeps of the page, so that a resumed parse has every page's geometry.

pypdf's visitor gives where each piece of text starts but not where it ends; its end is
estimated from the font's average glyph width, which is enough to tell a table's column gap
(several em) from the space between words."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from pypdf import PageObject

from ingest.loaders.pdf_hidden import visit_visible
from ingest.text_encoding import CONTROL_CHARS

# Checkpointed pages start with this; a page checkpointed as plain text by an earlier version
# does not, and reads back as lines without geometry.
_MARK = "\x1epdf-layout-1\x1e"
_WIDE = re.compile(
    r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60]"
)
# Private-use glyphs (icon fonts, flags in a Google Docs table) are no text anyone can search.
_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")
# Typographic ligatures (ﬁ, ﬂ, ﬀ, ...) would hide "fi" and "ff" from word search.
_LIGATURES = {cp: unicodedata.normalize("NFKC", chr(cp)) for cp in range(0xFB00, 0xFB07)}
# Typewriter faces: TeX's cmtt/lmmono, Courier, and fonts named for code.
_MONO_FONT = re.compile(r"mono|courier|cmtt|\btt\d|typewriter|consol|menlo|inconsolata|code", re.I)
# A checkpointed line's style: bit 0 bold (older checkpoints store only that), bit 1 mono.
_MONO = 2
_BOLD_FONT = re.compile(r"bold|heavy|black|semibold|demi|[-,]b\b|\bhei\b|黑体", re.IGNORECASE)
# A piece whose baseline is within this share of the font size of the line's is on the line:
# superscripts and subscripts stay with their line.
_SAME_LINE = 0.55
# A gap this many font sizes wide between two pieces of a line separates table cells (or
# columns); a quarter of one is a space between words.
CELL_GAP = 1.2
_WORD_GAP = 0.2
_DEFAULT_WIDTH = 0.5
_NUMBER = re.compile(r"\d{1,2}(?:\.\d{1,2})*\.?")


@dataclass
class Cell:
    x0: float
    x1: float
    text: str


@dataclass
class Line:
    y: float
    size: float
    bold: bool
    cells: list[Cell] = field(default_factory=list)
    # Every piece in a typewriter font: a line of a code listing, whose aligned comments are
    # no table's columns.
    mono: bool = False

    @property
    def text(self) -> str:
        return " ".join(cell.text for cell in self.cells)

    @property
    def x0(self) -> float:
        return self.cells[0].x0 if self.cells else 0.0

    @property
    def x1(self) -> float:
        return self.cells[-1].x1 if self.cells else 0.0


@dataclass
class PageLayout:
    width: float
    height: float
    lines: list[Line]
    # False for a page read back from a plain-text checkpoint: its lines have no positions.
    positioned: bool = True

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def read_layout(page: PageObject) -> PageLayout:
    """The page's visible text as lines, in the order the page draws them (which is reading
    order for the columns of a typeset page: each column is drawn whole)."""
    lines: list[Line] = []
    widths: dict[int, float] = {}

    def visit(piece: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        # Fonts whose encoding maps symbols to control codes (zh-elegantnote-guide.pdf's maths
        # gives \x00, \x14, \x1f): never text, and PostgreSQL refuses NUL in a text column.
        text = CONTROL_CHARS.sub("", _PRIVATE_USE.sub("", piece.translate(_LIGATURES)))
        text = text.replace("\n", " ").replace("\r", " ")
        if not text.strip():
            if lines and lines[-1].cells and text:
                lines[-1].cells[-1].text += " "
            return
        height = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
        points = abs(size) * height if size else height
        points = points or 10.0
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        width = _text_width(text, points, _average_width(font, widths))
        name = _font_name(font)
        style = _Style(bool(_BOLD_FONT.search(name)), bool(_MONO_FONT.search(name)))
        _place(lines, text, x, y, x + width, points, style)

    visit_visible(page, visit)
    box = page.mediabox
    kept = [line for line in lines if line.text.strip()]
    for line in kept:
        for cell in line.cells:
            cell.text = " ".join(cell.text.split())
    return PageLayout(float(box.width), float(box.height), kept)


@dataclass(frozen=True)
class _Style:
    bold: bool
    mono: bool

    def keep(self, line: Line) -> None:
        """A line is bold, or typewriter, only while all its pieces are."""
        line.bold = line.bold and self.bold
        line.mono = line.mono and self.mono


def _place(
    lines: list[Line], text: str, x: float, y: float, end: float, size: float, style: _Style
) -> None:
    line = lines[-1] if lines else None
    if line is not None and line.cells and abs(y - line.y) <= _SAME_LINE * max(size, line.size):
        last = line.cells[-1]
        gap = x - last.x1
        # The estimated end can overshoot the true one: only a start left of the last cell's
        # start is a new line drawn at the same height (another column).
        if x >= last.x0 - line.size and gap <= CELL_GAP * max(size, line.size):
            joined = last.text.endswith(" ") or text.startswith(" ")
            wide = _WIDE.match(text[:1]) or _WIDE.match(last.text[-1:])
            space = "" if joined or wide or gap < _WORD_GAP * size else " "
            last.text += space + text
            last.x1 = max(last.x1, end)
            style.keep(line)
            line.size = max(line.size, size) if size > 0.8 * line.size else line.size
            return
        if len(line.cells) == 1 and _NUMBER.fullmatch(last.text.strip()) and gap < 4 * line.size:
            # "2.1   LRS model": a heading's or list item's number set apart by a tab.
            last.text = last.text.strip() + " " + text.lstrip()
            last.x1 = end
            style.keep(line)
            return
        if x >= last.x0 - line.size:
            line.cells.append(Cell(x, end, text))
            style.keep(line)
            return
    lines.append(Line(y, size, style.bold, [Cell(x, end, text)], mono=style.mono))


def _text_width(text: str, size: float, average: float) -> float:
    wide = len(_WIDE.findall(text))
    return size * (wide + average * (len(text) - wide))


def _average_width(font: Any, cache: dict[int, float]) -> float:
    """The font's mean glyph width in em, from its /Widths (simple fonts); half an em else."""
    key = id(font)
    if key not in cache:
        average = _DEFAULT_WIDTH
        try:
            widths = [float(w) for w in font.get("/Widths", []) if float(w) > 0]
            if widths:
                # Widths include capitals and wide symbols; lower-case text runs narrower.
                average = min(max(0.85 * sum(widths) / len(widths) / 1000, 0.3), 0.7)
        except (AttributeError, TypeError, ValueError):
            pass
        cache[key] = average
    return cache[key]


def _font_name(font: Any) -> str:
    try:
        return str(font.get("/BaseFont", "")) if font else ""
    except AttributeError:
        return ""


def dump_layout(layout: PageLayout) -> str:
    """The page as one checkpoint string."""
    lines = [
        [round(line.y, 1), round(line.size, 2), int(line.bold) | _MONO * line.mono]
        + [[round(c.x0, 1), round(c.x1, 1), c.text] for c in line.cells]
        for line in layout.lines
    ]
    return _MARK + json.dumps([layout.width, layout.height, lines], ensure_ascii=False)


def load_layout(stored: str) -> PageLayout:
    """A checkpointed page; plain text (an older checkpoint) as unpositioned lines."""
    if not stored.startswith(_MARK):
        lines = [Line(0.0, 0.0, False, [Cell(0.0, 0.0, t)]) for t in stored.splitlines() if t]
        return PageLayout(0.0, 0.0, lines, positioned=False)
    width, height, rows = json.loads(stored[len(_MARK) :])
    lines = [
        Line(
            y,
            size,
            bool(style & 1),
            [Cell(x0, x1, text) for x0, x1, text in cells],
            mono=bool(style & _MONO),
        )
        for y, size, style, *cells in rows
    ]
    return PageLayout(width, height, lines)
