"""OCR's text boxes put back into reading order: boxes side by side make a line, lines that
run to the right margin wrap into the next one, and a gap taller than a line ends a
paragraph, so that the splitter sees sentences and paragraphs as a text layer would give them.
A page in two columns is read column by column."""

from __future__ import annotations

import itertools
import math
import re
import statistics
from dataclasses import dataclass

from ingest.text_encoding import is_cjk

# A vertical gap over this share of the usual line height separates paragraphs.
_PARAGRAPH_GAP = 0.8
# A line ending within this many line heights of the right margin was wrapped by the layout.
_WRAP_SLACK = 1.5
# The right margin: the right edge this share of lines reach or fall short of.
_MARGIN_PERCENTILE = 0.9
# Two columns: the gutter lies in this middle share of the page's width, each column has at
# least this many boxes, typically this share of the width wide, and at most this share of
# the boxes cross it.
_GUTTER_BAND = 0.4
_MIN_COLUMN_LINES = 3
_COLUMN_SHARE = 0.3
_MAX_CROSSING_SHARE = 0.2
# Two boxes on one line share this much of the taller one's height.
_SAME_LINE = 0.5
# Only before a lowercase letter, as for a text layer: "Jean-Paul" keeps its hyphen.
_WRAP_HYPHEN = re.compile(r"[^\W\d_][-\u00ad]$")


@dataclass(frozen=True)
class TextBox:
    """One piece of recognised text and its bounding box, in pixels from the top left."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass
class _Line:
    boxes: list[TextBox]

    @property
    def top(self) -> float:
        return min(box.top for box in self.boxes)

    @property
    def bottom(self) -> float:
        return max(box.bottom for box in self.boxes)

    @property
    def right(self) -> float:
        return max(box.right for box in self.boxes)

    def holds(self, box: TextBox) -> bool:
        """Whether the box sits on this line: it shares most of its height with the line's
        first box (of the taller of the two, so that a box misread across several lines
        does not swallow them)."""
        first = self.boxes[0]
        shared = min(first.bottom, box.bottom) - max(first.top, box.top)
        return shared >= _SAME_LINE * max(first.height, box.height)

    def spaced(self, height: float) -> bool:
        """Whether its boxes stand apart, as a table's cells or a form's fields do."""
        ordered = sorted(self.boxes, key=lambda b: b.left)
        return any(b.left - a.right > height for a, b in itertools.pairwise(ordered))

    def text(self, height: float) -> str:
        parts: list[str] = []
        previous: TextBox | None = None
        for box in sorted(self.boxes, key=lambda b: b.left):
            if previous is not None:
                close = box.left - previous.right < height
                parts.append(_joint(parts[-1], box.text, space=not close))
            parts.append(box.text)
            previous = box
        return "".join(parts)


def page_text(boxes: list[TextBox]) -> str:
    return "\n\n".join(_block_text(block) for block in _blocks(boxes) if block)


def _blocks(boxes: list[TextBox]) -> list[list[TextBox]]:
    """The boxes in reading order: on a two-column page, each run of column text is read left
    column first, and boxes across the gutter (a title, a wide figure's caption) between runs."""
    gutter = _gutter(boxes)
    if gutter is None:
        return [boxes]
    blocks: list[list[TextBox]] = []
    left: list[TextBox] = []
    right: list[TextBox] = []
    across: list[TextBox] = []
    for box in sorted(boxes, key=lambda b: b.top):
        if box.left < gutter < box.right:
            if left or right:
                blocks += [across, left, right]
                across, left, right = [], [], []
            across.append(box)
        else:
            (left if box.right <= gutter else right).append(box)
    return [*blocks, across, left, right]


def _gutter(boxes: list[TextBox]) -> float | None:
    """Where a page's two columns part: an x in the middle of the page with column text on
    each side, crossed by few boxes (a title, an abstract, a figure across both columns).
    A table's narrow cells do not make columns."""
    if len(boxes) < _MIN_COLUMN_LINES * 2:
        return None
    start = min(box.left for box in boxes)
    width = max(box.right for box in boxes) - start
    best: tuple[int, float] | None = None
    for x in sorted({box.right + 1 for box in boxes}):
        if not (1 - _GUTTER_BAND) / 2 <= (x - start) / width <= (1 + _GUTTER_BAND) / 2:
            continue
        crossing = sum(1 for box in boxes if box.left < x < box.right)
        if crossing > _MAX_CROSSING_SHARE * len(boxes) or (best and crossing >= best[0]):
            continue
        sides = (
            [box for box in boxes if box.right < x],
            [box for box in boxes if box.left >= x],
        )
        if all(
            len(side) >= _MIN_COLUMN_LINES
            and statistics.median(box.right - box.left for box in side) >= _COLUMN_SHARE * width
            for side in sides
        ):
            best = (crossing, x)
    return best[1] if best else None


def _block_text(boxes: list[TextBox]) -> str:
    lines: list[_Line] = []
    for box in sorted(boxes, key=lambda b: b.middle):
        if lines and lines[-1].holds(box):
            lines[-1].boxes.append(box)
        else:
            lines.append(_Line([box]))
    height = statistics.median(box.height for box in boxes)
    rights = sorted(line.right for line in lines)
    margin = rights[math.ceil(_MARGIN_PERCENTILE * (len(rights) - 1))]
    out = lines[0].text(height)
    for previous, line in itertools.pairwise(lines):
        text = line.text(height)
        if line.top - previous.bottom > _PARAGRAPH_GAP * height:
            out += "\n\n" + text
        elif (
            previous.right >= margin - _WRAP_SLACK * height
            and not previous.spaced(height)
            and not line.spaced(height)
        ):
            out = _unwrap(out, text)
        else:
            out += "\n" + text
    return out


def _joint(before: str, after: str, *, space: bool) -> str:
    """What goes between two pieces of one line: nothing between CJK characters that touch."""
    if not space and before and after and is_cjk(before[-1]) and is_cjk(after[0]):
        return ""
    return " "


def _unwrap(text: str, line: str) -> str:
    """Join a line to the wrapped one before it, as the writer typed them."""
    if _WRAP_HYPHEN.search(text) and line[:1].islower():
        return text[:-1] + line
    if text and is_cjk(text[-1]) and line and is_cjk(line[0]):
        return text + line
    return text + " " + line
