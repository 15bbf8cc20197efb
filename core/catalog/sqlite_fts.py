"""SQLite's lexical index: one FTS5 table per collection, made when the collection is (DDL that
depends on the data, so it is not one of schema.py's tables). Kept apart from schema.py so that
opening a catalog does not import SQLAlchemy."""

from __future__ import annotations


def fts_table(collection_id: str) -> str:
    # Collection ids are generated hex, never user text, so they are safe in an identifier.
    if not collection_id.isalnum():
        raise ValueError(f"bad collection id {collection_id!r}")
    return f"fts_{collection_id}"


def fts_create(collection_id: str) -> str:
    """SQLite's lexical index of one collection, made when the collection is."""
    return (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts_table(collection_id)} "
        "USING fts5(tokens, tokenize='unicode61 remove_diacritics 2')"
    )
