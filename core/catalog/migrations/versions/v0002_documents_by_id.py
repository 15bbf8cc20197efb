"""SQLite gets the index of documents by id that PostgreSQL already had, so
document_references no longer reads every document of every collection.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_index("documents_by_id", "documents", ["id"], if_not_exists=True)
