"""Load a CSV or TSV file: its header row and runs of its rows, cited by row range (the
header is row 1, as a spreadsheet program numbers them)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from core.errors import LoadError
from core.types import LoadedDocument
from ingest.loaders import CSV
from ingest.loaders.archive import reason
from ingest.loaders.protocol import PageProgress
from ingest.loaders.table_rows import MAX_CELLS, SectionList, add_table
from ingest.text_encoding import decode_text

_DELIMITERS = ",\t;|"
# The sniffer's regular expressions are slow on long text; the first lines tell the dialect.
_SAMPLE_CHARS = 16384


class CsvLoader:
    def load(self, data: bytes, progress: PageProgress) -> LoadedDocument:
        text = decode_text(data)
        if not text.strip():
            raise LoadError("file_no_text")
        reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
        out = SectionList()
        try:
            add_table(out, _capped(reader))
        except csv.Error as exc:
            raise LoadError("csv_corrupt", row=reader.line_num, problem=reason(exc)) from exc
        if not out.sections:
            raise LoadError("file_no_text")
        progress(1, 1)
        return LoadedDocument(media_type=CSV, pages=1, sections=out.sections)


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    sample = text[:_SAMPLE_CHARS]
    if len(text) > _SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        # One column, or rows the sniffer cannot agree on: tabs if the header has them.
        first_line = sample.split("\n", 1)[0]
        return csv.excel_tab if "\t" in first_line else csv.excel


def _capped(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    cells = 0
    for number, row in enumerate(reader, 1):
        cells += sum(1 for cell in row if cell.strip())
        if cells > MAX_CELLS:
            raise LoadError("csv_too_large", row=number, limit=MAX_CELLS)
        yield number, row
