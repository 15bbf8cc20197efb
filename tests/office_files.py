"""Real decks, workbooks and books for the tests, made with the libraries that read them
(python-pptx, openpyxl) and, for EPUB, written by hand as its specification lays it out."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

import openpyxl
import pptx
from pptx.util import Inches

Rows = Sequence[Sequence[object]]


def workbook(sheets: dict[str, Rows], hidden: Sequence[str] = ()) -> bytes:
    book = openpyxl.Workbook()
    assert book.active is not None
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
        if name in hidden:
            sheet.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def deck(
    slides: Sequence[tuple[str, str, str]],
    table: tuple[str, Rows] | None = None,
    hidden: Sequence[int] = (),
) -> bytes:
    """Slides of (title, body, speaker notes), then a slide titled table[0] holding table[1]."""
    presentation = pptx.Presentation()
    for number, (title, body, notes) in enumerate(slides, 1):
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
        if number in hidden:
            slide.element.set("show", "0")
    if table is not None:
        title, rows = table
        slide = presentation.slides.add_slide(presentation.slide_layouts[5])
        slide.shapes.title.text = title
        shape = slide.shapes.add_table(
            len(rows), len(rows[0]), Inches(0.5), Inches(1.5), Inches(9), Inches(5)
        )
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                shape.table.cell(r, c).text = str(value)
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


_CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>"""

_CHAPTER = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">
<head><title>{book}</title></head>
<body><section epub:type="chapter"><h1>{title}</h1>{paragraphs}</section></body>
</html>"""


def book(title: str, chapters: Sequence[tuple[str, Sequence[str]]], nav: bool = True) -> bytes:
    """An EPUB 3 book of (chapter title, paragraphs), with a navigation document when `nav`
    (else an EPUB 2 NCX table of contents)."""
    manifest: list[str] = []
    spine: list[str] = []
    files: dict[str, str] = {}
    links: list[str] = []
    points: list[str] = []
    for number, (chapter, paragraphs) in enumerate(chapters, 1):
        name = f"text/ch{number:02d}.xhtml"
        files[f"OEBPS/{name}"] = _CHAPTER.format(
            book=title, title=chapter, paragraphs="".join(f"<p>{p}</p>" for p in paragraphs)
        )
        manifest.append(f'<item id="c{number}" href="{name}" media-type="application/xhtml+xml"/>')
        spine.append(f'<itemref idref="c{number}"/>')
        links.append(f'<li><a href="{name}">{chapter}</a></li>')
        points.append(
            f'<navPoint id="p{number}" playOrder="{number}"><navLabel><text>{chapter}</text>'
            f'</navLabel><content src="{name}"/></navPoint>'
        )
    if nav:
        manifest.append(
            '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        )
        files["OEBPS/nav.xhtml"] = (
            '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"'
            ' xmlns:epub="http://www.idpf.org/2007/ops"><head><title>toc</title></head><body>'
            f'<nav epub:type="toc"><ol>{"".join(links)}</ol></nav></body></html>'
        )
        spine.insert(0, '<itemref idref="nav" linear="no"/>')
        toc = ""
    else:
        manifest.append('<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
        files["OEBPS/toc.ncx"] = (
            '<?xml version="1.0" encoding="UTF-8"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"'
            f' version="2005-1"><navMap>{"".join(points)}</navMap></ncx>'
        )
        toc = ' toc="ncx"'
    files["OEBPS/content.opf"] = (
        '<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf"'
        ' version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:identifier id="id">urn:uuid:zhiku-test</dc:identifier><dc:title>{title}</dc:title>'
        f"<dc:language>zh</dc:language></metadata><manifest>{''.join(manifest)}</manifest>"
        f"<spine{toc}>{''.join(spine)}</spine></package>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        # The mimetype comes first and stored, as the specification asks.
        archive.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", _CONTAINER, zipfile.ZIP_DEFLATED)
        for name, text in files.items():
            archive.writestr(name, text, zipfile.ZIP_DEFLATED)
    return out.getvalue()
