"""Loaders keyed by the sniffed media type: adding a format is one file and one line here."""

from __future__ import annotations

from core.registry import Registry
from ingest.loaders.protocol import Loader

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

LOADERS = Registry[Loader](
    "media type",
    {
        "application/pdf": "ingest.loaders.pdf:PdfLoader",
        DOCX: "ingest.loaders.docx:DocxLoader",
        "text/markdown": "ingest.loaders.markdown:MarkdownLoader",
        "text/html": "ingest.loaders.html:HtmlLoader",
        "text/plain": "ingest.loaders.text:TextLoader",
        "image/png": "ingest.loaders.image:ImageLoader",
        "image/jpeg": "ingest.loaders.image:ImageLoader",
        "image/tiff": "ingest.loaders.image:ImageLoader",
        "image/webp": "ingest.loaders.image:ImageLoader",
    },
)
