"""Baseline: the catalog as it was before revisions were recorded (December 2026), made where
missing, so opening such a catalog changes nothing; a PostgreSQL catalog from before
`lexical_entries` and `lexical_terms` has its lexical index moved and counted. Written out
here rather than taken from core/catalog/schema.py, which later revisions move on from.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA, DOUBLE_PRECISION, TSVECTOR
from sqlalchemy.dialects.sqlite import BLOB, REAL
from sqlalchemy.types import TypeEngine

revision = "0001"
down_revision = None

_SECONDS: TypeEngine[float] = REAL().with_variant(DOUBLE_PRECISION(), "postgresql")
_BYTES = BLOB().with_variant(BYTEA(), "postgresql")
_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The full-text index is built after the copy, at once, which is much faster than row by row.
_MOVE_LEXICAL = (
    "SET LOCAL maintenance_work_mem = '256MB'",
    "DROP INDEX lexical_entries_terms",
    "INSERT INTO lexical_entries (rowid, collection_id, document_id, terms, len)"
    " SELECT rowid, collection_id, document_id, lexical, lexical_len FROM chunks"
    " WHERE lexical IS NOT NULL",
    "CREATE INDEX lexical_entries_terms ON lexical_entries USING GIN (terms)",
    # The old column's GIN index goes with it.
    "ALTER TABLE chunks DROP COLUMN lexical, DROP COLUMN lexical_len",
)
_BACKFILL_TERMS = """
INSERT INTO lexical_terms (collection_id, term, shard, chunks)
SELECT e.collection_id, t.term, 0, count(*)
FROM lexical_entries e CROSS JOIN LATERAL unnest(tsvector_to_array(e.terms)) AS t(term)
GROUP BY e.collection_id, t.term
"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    inspector = sa.inspect(op.get_bind())
    counted = inspector.has_table("lexical_terms")
    old_column = inspector.has_table("chunks") and any(
        c["name"] == "lexical" for c in inspector.get_columns("chunks")
    )
    _create_shared_tables(postgres)
    if postgres:
        _create_lexical_tables()
        if old_column:
            for statement in _MOVE_LEXICAL:
                op.execute(statement)
        if not counted:
            op.execute(_BACKFILL_TERMS)


def _rowid() -> sa.Column[int]:
    return sa.Column("rowid", _BIGINT, sa.Identity(always=True), primary_key=True)


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, server_default=sa.text("0"))


def _create_shared_tables(postgres: bool) -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("embedding_model", sa.Text, nullable=False),
        sa.Column("chunk_tokens", sa.Integer, nullable=False),
        sa.Column("chunk_overlap_tokens", sa.Integer, nullable=False),
        sa.Column("created_at", _SECONDS, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "documents",
        sa.Column("collection_id", sa.Text, nullable=False),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("size", _BIGINT, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        _counter("pages"),
        _counter("chunks"),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("updated_at", _SECONDS, nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "id"),
        if_not_exists=True,
    )
    if postgres:
        op.create_index("documents_by_id", "documents", ["id"], if_not_exists=True)
    op.create_table(
        "chunks",
        _rowid(),
        sa.Column("collection_id", sa.Text, nullable=False),
        sa.Column("document_id", sa.Text, nullable=False),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("page", sa.Integer),
        sa.Column("heading_path", sa.Text, nullable=False),
        sa.Column("span_start", sa.Integer, nullable=False),
        sa.Column("span_end", sa.Integer, nullable=False),
        sa.Column("tokens", sa.Integer, nullable=False),
        sa.Column("text_hash", _BYTES, nullable=False),
        sa.Column("vector", _BYTES),
        sa.UniqueConstraint("collection_id", "id"),
        if_not_exists=True,
    )
    op.create_index(
        "chunks_by_document",
        "chunks",
        ["collection_id", "document_id", "seq"],
        if_not_exists=True,
    )
    op.create_index(
        "chunks_by_text",
        "chunks",
        ["text_hash"],
        sqlite_where=sa.text("vector IS NOT NULL"),
        postgresql_where=sa.text("vector IS NOT NULL"),
        if_not_exists=True,
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("collection_id", sa.Text, nullable=False),
        sa.Column("document_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("stage", sa.Text, nullable=False),
        _counter("attempts"),
        sa.Column("lease_until", _SECONDS),
        sa.Column("worker", sa.Text),
        _counter("pages_done"),
        _counter("pages_total"),
        _counter("chunks_done"),
        _counter("chunks_total"),
        sa.Column("error", sa.Text),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("updated_at", _SECONDS, nullable=False),
        sa.Column("started_at", _SECONDS),
        sa.Column("finished_at", _SECONDS),
        if_not_exists=True,
    )
    op.create_index("jobs_to_claim", "jobs", ["stage", "state", "created_at"], if_not_exists=True)
    op.create_index(
        "jobs_by_document", "jobs", ["collection_id", "document_id"], if_not_exists=True
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("collection_id", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("updated_at", _SECONDS, nullable=False),
        if_not_exists=True,
    )
    op.create_index(
        "conversations_by_collection",
        "conversations",
        ["collection_id", "updated_at"],
        if_not_exists=True,
    )
    op.create_table(
        "messages",
        _rowid(),
        sa.Column("conversation_id", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("citations", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", _SECONDS, nullable=False),
        if_not_exists=True,
    )
    op.create_index(
        "messages_by_conversation",
        "messages",
        ["conversation_id", "rowid"],
        if_not_exists=True,
    )


def _create_lexical_tables() -> None:
    op.create_table(
        "lexical_entries",
        sa.Column("rowid", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("collection_id", sa.Text, nullable=False),
        sa.Column("document_id", sa.Text, nullable=False),
        sa.Column("terms", TSVECTOR, nullable=False),
        sa.Column("len", sa.Integer, nullable=False),
        if_not_exists=True,
    )
    op.create_index(
        "lexical_entries_by_document",
        "lexical_entries",
        ["collection_id", "document_id"],
        if_not_exists=True,
    )
    op.create_index(
        "lexical_entries_terms",
        "lexical_entries",
        ["terms"],
        postgresql_using="gin",
        if_not_exists=True,
    )
    op.create_table(
        "lexical_terms",
        sa.Column("collection_id", sa.Text(collation="C"), nullable=False),
        sa.Column("term", sa.Text(collation="C"), nullable=False),
        sa.Column("shard", sa.SmallInteger, nullable=False),
        sa.Column("chunks", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "term", "shard"),
        postgresql_with={"fillfactor": 70},
        if_not_exists=True,
    )
