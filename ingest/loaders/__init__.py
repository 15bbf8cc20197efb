"""Loaders keyed by the sniffed media type: adding a format is one file and one line here."""

from __future__ import annotations

from core.registry import Registry
from ingest.loaders.protocol import Loader

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EPUB = "application/epub+zip"
CSV = "text/csv"

LOADERS = Registry[Loader](
    "media type",
    {
        "application/pdf": "ingest.loaders.pdf:PdfLoader",
        DOCX: "ingest.loaders.docx:DocxLoader",
        PPTX: "ingest.loaders.pptx:PptxLoader",
        XLSX: "ingest.loaders.xlsx:XlsxLoader",
        CSV: "ingest.loaders.delimited:CsvLoader",
        EPUB: "ingest.loaders.epub:EpubLoader",
        "text/markdown": "ingest.loaders.markdown:MarkdownLoader",
        "text/html": "ingest.loaders.html:HtmlLoader",
        "text/plain": "ingest.loaders.text:TextLoader",
        "image/png": "ingest.loaders.image:ImageLoader",
        "image/jpeg": "ingest.loaders.image:ImageLoader",
        "image/tiff": "ingest.loaders.image:ImageLoader",
        "image/webp": "ingest.loaders.image:ImageLoader",
    },
)
