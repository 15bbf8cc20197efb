"""The catalog: the truth about collections, documents, chunks and jobs, in SQLite (embedded)
or PostgreSQL (scale-out), picked by the scheme of ZHIKU_DATABASE_URL."""

from __future__ import annotations

from core.catalog.conversations import Conversations
from core.catalog.evaluations import Evaluations
from core.catalog.protocol import (
    Catalog,
    Chunks,
    Collections,
    Documents,
    Jobs,
    Keys,
    LeaseLost,
)
from core.catalog.records import chunk_id
from core.registry import Registry, url_scheme
from core.settings import Settings

__all__ = [
    "CATALOGS",
    "Catalog",
    "Chunks",
    "Collections",
    "Conversations",
    "Documents",
    "Evaluations",
    "Jobs",
    "Keys",
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
    # SQLite in the data directory unless ZHIKU_DATABASE_URL names a database.
    choose=lambda settings: url_scheme(settings.database_url, "sqlite"),
)


def open_catalog(settings: Settings) -> Catalog:
    return CATALOGS.open(settings)
