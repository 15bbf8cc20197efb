"""Hostile files, made on the spot so no large binary is kept: small uploads that inflate to
hundreds of megabytes once read (the attacks of issue 17), each written in bounded memory.

- `docx_bomb`: a valid .docx whose word/document.xml inflates to `xml_mb` MB of tiny
  paragraphs, just under the loader's 200 MB archive cap by default (a few hundred KB on disk);
- `pdf_bomb`: a one-page PDF whose FlateDecode content streams inflate to `content_mb` MB of
  text-showing operators, split into streams each under pypdf's own 75 MB inflation limit;
- `html_bomb`: an HTML page of `mb` MB of tiny elements (HTML travels uncompressed, so it is as
  large as the upload limit lets it be);
- `xlsx_bomb`: a valid .xlsx whose shared-string table inflates to `strings_mb` MB of distinct
  strings (a reader holds the whole table in memory), with `rows` rows of `columns` cells.
"""

from __future__ import annotations

import io
import zipfile
import zlib

_MB = 1024 * 1024

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
_DOCUMENT_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
)
_DOCUMENT_TAIL = "</w:body></w:document>"
_PARAGRAPH = "<w:p><w:r><w:t>炸 bomb</w:t></w:r></w:p>"


def docx_bomb(xml_mb: float = 190) -> bytes:
    """A .docx of one part inflating to `xml_mb` MB: millions of one-word paragraphs."""
    block = _PARAGRAPH.encode() * 4096
    count = int(xml_mb * _MB) // len(block)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(_DOCUMENT_HEAD.encode())
            for _ in range(count):
                part.write(block)
            part.write(_DOCUMENT_TAIL.encode())
    return out.getvalue()


_XLSX_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)
_XLSX_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_XLSX_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="炸弹" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_XLSX_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)


def xlsx_bomb(strings_mb: float = 0, rows: int = 1, columns: int = 2) -> bytes:
    """A one-sheet .xlsx: `rows` rows of `columns` numbers under a header row, and a shared-
    string table of `strings_mb` MB of distinct strings (only the first is used)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _XLSX_CONTENT_TYPES)
        archive.writestr("_rels/.rels", _XLSX_RELS)
        archive.writestr("xl/workbook.xml", _XLSX_WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _XLSX_WORKBOOK_RELS)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns='
                b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            )
            written = 0
            number = 0
            while written < strings_mb * _MB or number == 0:
                block = b"".join(b"<si><t>s%d</t></si>" % (number + i) for i in range(4096))
                part.write(block)
                written += len(block)
                number += 4096
            part.write(b"</sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(_SHEET_HEAD.encode())
            header = "".join(f'<c t="inlineStr"><is><t>列{c}</t></is></c>' for c in range(columns))
            part.write(f'<row r="1"><c t="s"><v>0</v></c>{header}</row>'.encode())
            for r in range(2, rows + 2):
                cells = "".join(f"<c><v>{r * columns + c}</v></c>" for c in range(columns))
                part.write(f'<row r="{r}">{cells}</row>'.encode())
            part.write(b"</sheetData></worksheet>")
    return out.getvalue()


def pdf_bomb(content_mb: float = 190, per_stream_mb: float = 60) -> bytes:
    """A one-page PDF whose content streams inflate to `content_mb` MB of `(..) Tj` operators."""
    line = b"BT /F1 9 Tf 10 700 Td (bomb bomb bomb) Tj ET\n"
    per_stream = int(per_stream_mb * _MB) // len(line)
    streams: list[bytes] = []
    left = int(content_mb * _MB) // len(line)
    while left > 0:
        n = min(per_stream, left)
        packer = zlib.compressobj(9)
        chunk = line * 4096
        body = b"".join(packer.compress(chunk) for _ in range(n // 4096)) + packer.flush()
        streams.append(body)
        left -= n
    first_stream = 5
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R"
        b" >> >> /Contents ["
        + b" ".join(b"%d 0 R" % (first_stream + i) for i in range(len(streams)))
        + b"] >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    objects += [
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(s) + s + b"\nendstream"
        for s in streams
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def html_bomb(mb: float = 40) -> bytes:
    """An HTML page of `mb` MB of tiny nested elements."""
    cell = b"<div><span>\xe7\x82\xb8</span><b>bomb</b></div>"
    body = cell * (int(mb * _MB) // len(cell))
    return b"<!doctype html><html><head><title>bomb</title></head><body>" + body + b"</body></html>"
