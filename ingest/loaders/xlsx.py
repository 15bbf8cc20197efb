"""Load an Excel workbook (.xlsx): each visible sheet as its header row and runs of its rows,
cited by sheet and row range (ingest/loaders/table_rows.py). Cells are read as Excel last
computed them (a formula's saved result), streamed, so memory stays flat for long sheets."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

import openpyxl
from lxml import etree
from openpyxl.utils.exceptions import InvalidFileException

from core.errors import LoadError
from core.types import LoadedDocument
from ingest.loaders import XLSX
from ingest.loaders.archive import ZIP_FAILURES, reason, refuse_zip_bomb
from ingest.loaders.protocol import PageProgress
from ingest.loaders.table_rows import MAX_CELLS, SectionList, add_table

_FAILURES: tuple[type[BaseException], ...] = (
    *ZIP_FAILURES,
    InvalidFileException,
    etree.LxmlError,
    SyntaxError,  # xml.etree's ParseError, which openpyxl uses for some parts
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    zlib.error,
)
# A formula cell without a saved result in a sheet's XML: <f>…</f> or <f t="shared" …/>,
# then an empty <v> or none, then the cell's end.
_UNCOMPUTED = re.compile(
    rb"<(?:\w+:)?f\b[^>]*(?:/>|>[^<]*</(?:\w+:)?f>)\s*"
    rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)


class XlsxLoader:
    def load(self, data: bytes, progress: PageProgress) -> LoadedDocument:
        refuse_zip_bomb(data, "xlsx_corrupt")
        uncomputed = _uncomputed_formulas(data)
        if uncomputed:
            # They would read as empty cells: answers from the rest would miss them unseen.
            raise LoadError("xlsx_formulas_uncomputed", cells=uncomputed)
        out = SectionList()
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except _FAILURES as exc:
            raise LoadError("xlsx_corrupt", problem=reason(exc)) from exc
        try:
            # Hidden sheets are left out, as hidden text is in Word and web pages.
            sheets = [s for s in workbook.worksheets if s.sheet_state == "visible"]
            counter = _CellCounter()
            for number, sheet in enumerate(sheets, 1):
                # The <dimension> a writer records can be wrong; read every row there is.
                sheet.reset_dimensions()
                add_table(out, counter.rows(sheet), heading=(str(sheet.title),))
                progress(number, len(sheets))
        except _FAILURES as exc:
            raise LoadError("xlsx_corrupt", problem=reason(exc)) from exc
        finally:
            workbook.close()
        if not out.sections:
            raise LoadError("xlsx_no_text")
        return LoadedDocument(media_type=XLSX, pages=len(sheets), sections=out.sections)


class _CellCounter:
    """Counts filled cells across the workbook's sheets, failing past MAX_CELLS."""

    def __init__(self) -> None:
        self.cells = 0

    def rows(self, sheet: Any) -> Iterator[tuple[int, list[str]]]:
        for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
            cells = [cell_text(value) for value in values]
            self.cells += sum(1 for cell in cells if cell)
            if self.cells > MAX_CELLS:
                raise LoadError(
                    "sheet_too_large", sheet=str(sheet.title), row=number, limit=MAX_CELLS
                )
            yield number, cells


def cell_text(value: object) -> str:
    """A cell's value as Excel shows it by default, near enough: whole numbers without ".0",
    15 significant digits, dates without a midnight time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.15g}"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _uncomputed_formulas(data: bytes) -> int:
    """Formula cells without a saved result: a workbook written by a program and never opened
    in a spreadsheet has them."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(
                len(_UNCOMPUTED.findall(archive.read(name)))
                for name in archive.namelist()
                if name.startswith("xl/worksheets/") and name.endswith(".xml")
            )
    except _FAILURES as exc:
        raise LoadError("xlsx_corrupt", problem=reason(exc)) from exc
