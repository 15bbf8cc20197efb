"""A chunk's fields as columns of the chunks table, for writing and reading them: derived from
ChunkDraft and StoredChunk, so that a field is declared once (records.py names the columns whose
names differ, and reads rows back with `chunk_of`)."""

from __future__ import annotations

import json
from dataclasses import fields
from operator import attrgetter
from typing import Any

from core.catalog.records import CHUNK_COLUMN_NAMES, StoredChunk, chunk_id
from core.types import ChunkDraft

_DRAFT_FIELDS = tuple(f.name for f in fields(ChunkDraft))
_DRAFT_COLUMNS = tuple(CHUNK_COLUMN_NAMES.get(name, name) for name in _DRAFT_FIELDS)
# rowid, collection_id, document_id, id: where a stored chunk is kept.
_PLACE_FIELDS = tuple(f.name for f in fields(StoredChunk) if f.name not in _DRAFT_FIELDS)

# Columns of a new chunk row, in the order `chunk_row` gives them; the database picks rowid.
CHUNK_COLUMNS = ", ".join(
    (*(name for name in _PLACE_FIELDS if name != "rowid"), *_DRAFT_COLUMNS, "text_hash")
)

# What `chunk_of` reads, from chunks aliased `c`, without the vector: on PostgreSQL a chunk's
# vector lives out of line (TOAST), and fetching it costs a second lookup per row that nothing
# reading chunks uses.
STORED_CHUNK_COLUMNS = ", ".join(f"c.{column}" for column in (*_PLACE_FIELDS, *_DRAFT_COLUMNS))


_draft_values = attrgetter(*_DRAFT_FIELDS)
_HEADING_PATH = _DRAFT_FIELDS.index("heading_path")


def chunk_row(
    collection_id: str, document_id: str, draft: ChunkDraft, text_hash: bytes
) -> tuple[Any, ...]:
    """A new chunk row, its values in CHUNK_COLUMNS' order."""
    values = list(_draft_values(draft))
    values[_HEADING_PATH] = json.dumps(draft.heading_path, ensure_ascii=False)
    return (collection_id, document_id, chunk_id(document_id, draft.seq), *values, text_hash)
