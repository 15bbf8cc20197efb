"""Runs of a Word document that a reader never sees, removed before its text is read: text
marked hidden (`w:vanish`, Word's "Hidden" font effect), white text on an unshaded page and
text of near-zero size can carry words that only a model would read."""

from __future__ import annotations

from docx.oxml.ns import qn
from lxml import etree

_OFF = {"0", "false", "off"}
# Half-points: 2 is a 1 pt font, too small to read.
_TINY = 2
_WHITE = {"ffffff", "fffffe", "fefefe"}


def drop_hidden_runs(body: etree._Element) -> None:
    """Remove, in place, the runs (w:r) under `body` that a reader cannot see."""
    for run in list(body.iter(qn("w:r"))):
        props = run.find(qn("w:rPr"))
        if props is not None and _hidden(props):
            parent = run.getparent()
            if parent is not None:
                parent.remove(run)


def _hidden(props: etree._Element) -> bool:
    for name in ("w:vanish", "w:specVanish"):
        mark = props.find(qn(name))
        if mark is not None and (mark.get(qn("w:val")) or "true").lower() not in _OFF:
            return True
    size = props.find(qn("w:sz"))
    points = (size.get(qn("w:val")) or "") if size is not None else ""
    if points.isdigit() and int(points) < _TINY:
        return True
    colour = props.find(qn("w:color"))
    shaded = props.find(qn("w:shd")) is not None or props.find(qn("w:highlight")) is not None
    return colour is not None and not shaded and (colour.get(qn("w:val")) or "").lower() in _WHITE
