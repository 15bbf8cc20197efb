"""OCR's text boxes put back into reading order: boxes side by side make a line, lines that
run to the right margin wrap into the next one, and a gap taller than a line ends a
paragraph, so that the splitter sees sentences and paragraphs as a text layer would give them.
One column only: a two-column scan reads across both columns, line by line."""

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
        """Whether the box sits on this line: its middle within the line's first box."""
        first = self.boxes[0]
        return first.top <= box.middle <= first.bottom

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
    if not boxes:
        return ""
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
        elif previous.right >= margin - _WRAP_SLACK * height:
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
