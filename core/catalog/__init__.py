"""The catalog: the truth about collections, documents, chunks and jobs, in SQLite (embedded)
or PostgreSQL (scale-out), picked by the scheme of ZHIKU_DATABASE_URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from core.catalog.protocol import (
    Catalog,
    Chunks,
    Collections,
    Conversations,
    Documents,
    Jobs,
    LeaseLost,
)
from core.catalog.records import chunk_id
from core.registry import Registry
from core.settings import Settings

__all__ = [
    "CATALOGS",
    "Catalog",
    "Chunks",
    "Collections",
    "Conversations",
    "Documents",
    "Jobs",
    "LeaseLost",
    "chunk_id",
    "open_catalog",
]

CATALOGS = Registry[Catalog](
    "catalog database",
    {
        "sqlite": "core.catalog.sqlite:SqliteCatalog",
        "postgresql": "core.catalog.postgres:PostgresCatalog",
        "postgres": "core.catalog.postgres:PostgresCatalog",
    },
)


def catalog_key(settings: Settings) -> str:
    """SQLite in the data directory unless ZHIKU_DATABASE_URL names a database."""
    return urlsplit(settings.database_url).scheme if settings.database_url else "sqlite"


def open_catalog(settings: Settings) -> Catalog:
    return CATALOGS.create(catalog_key(settings), settings)
