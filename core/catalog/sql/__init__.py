"""The catalog's logic in SQL that SQLite and PostgreSQL both run, one module per area."""

from __future__ import annotations

from core.catalog.chunk_columns import CHUNK_COLUMNS, STORED_CHUNK_COLUMNS
from core.catalog.sql.base import LIVE, Db, Rows, marks
from core.catalog.sql.catalog import SqlCatalog

__all__ = ["CHUNK_COLUMNS", "LIVE", "STORED_CHUNK_COLUMNS", "Db", "Rows", "SqlCatalog", "marks"]
