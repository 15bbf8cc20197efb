"""A PDF page's text without what a reader never sees: text drawn in an invisible rendering
mode (`3 Tr`, `7 Tr`) on a page with no picture, and text too small to read. An OCR'd scan
draws its text invisibly over the picture of the page, where a reader sees it: that text
stays. White text is kept: it is often written on a coloured box (a table's header), which
only a renderer could tell apart from a white page."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pypdf import PageObject

_INVISIBLE_MODES = {3, 7}
# Points: a glyph this small is a dot to a reader.
_TINY = 1.0


TextVisitor = Callable[[str, list[float], list[float], Any, float], None]
"""pypdf's `visitor_text`: a piece of text, the current and text matrices, font, font size."""


def visible_text(page: PageObject) -> str:
    """`page.extract_text()`, less the pieces a reader cannot see."""
    kept: list[str] = []
    visit_visible(page, lambda piece, cm, tm, font, size: kept.append(piece))
    return "".join(kept)


def visit_visible(page: PageObject, visit: TextVisitor) -> None:
    """Walk the page's text as `extract_text` does, calling `visit` for each piece a reader
    can see."""
    modes = [0]
    pictures: list[bool] = []  # whether the page has any, looked up at the first need

    def before(operator: bytes, operands: list[Any], cm: list[float], tm: list[float]) -> None:
        if operator == b"q":
            modes.append(modes[-1])
        elif operator == b"Q" and len(modes) > 1:
            modes.pop()
        elif operator == b"Tr" and operands:
            modes[-1] = int(operands[0])

    def text(piece: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if piece.strip() and modes[-1] in _INVISIBLE_MODES:
            if not pictures:
                pictures.append(_has_pictures(page))
            if not pictures[0]:
                return
        if piece.strip() and scaled_size(size, cm, tm) < _TINY:
            return
        visit(piece, cm, tm, font, size)

    page.extract_text(visitor_operand_before=before, visitor_text=text)


def scaled_size(size: float, cm: list[float], tm: list[float]) -> float:
    """The font's height on the page, in points (text and page matrices applied)."""
    if not size:
        # Some producers set the size in the matrix and use 1 (or 0) in Tf: no judgement.
        return _TINY
    height = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
    return abs(size) * height if height else _TINY


def _has_pictures(page: PageObject) -> bool:
    try:
        return bool(page.images)
    except Exception:  # a broken image dictionary: assume a picture, keep the text
        return True
