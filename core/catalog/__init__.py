"""The catalog: the truth about collections, documents, chunks and jobs."""

from __future__ import annotations

from core.catalog.sqlite import LeaseLost, SqliteCatalog, chunk_id
from core.settings import Settings

__all__ = ["LeaseLost", "SqliteCatalog", "chunk_id", "open_catalog"]


def open_catalog(settings: Settings) -> SqliteCatalog:
    return SqliteCatalog(settings.catalog_path)
