"""Whether a catalog database needs its schema brought up to date, answered without importing
Alembic and SQLAlchemy (half a second of imports in every process that opens a catalog, the
parse processes included); runner.py does the upgrade when it does."""

from __future__ import annotations

from typing import Any

# The newest revision in versions/ (a test keeps the two equal).
HEAD = "0006"

# How each database says whether the revision table exists.
_TABLE_EXISTS = {
    "sqlite": "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'",
    "postgresql": "SELECT 1 FROM pg_tables WHERE tablename='alembic_version'"
    " AND schemaname=current_schema()",
}


def at_head(connection: Any, dialect: str) -> bool:
    """Whether the database behind a DB-API connection (sqlite3 or psycopg) is at HEAD."""
    if connection.execute(_TABLE_EXISTS[dialect]).fetchone() is None:
        return False
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return row is not None and row[0] == HEAD
