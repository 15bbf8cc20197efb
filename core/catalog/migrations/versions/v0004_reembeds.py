"""Changing a collection's embedding model without a wipe (issue 18): a collection records the
vector space its queries read (NULL: the space named by its id, as before); a chunk keeps the
vector of the model it is being re-embedded with beside the one in use; and `reembeds` holds
each re-embedding under way, claimed by one worker at a time under a lease.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA, DOUBLE_PRECISION
from sqlalchemy.dialects.sqlite import BLOB, REAL
from sqlalchemy.types import TypeEngine

revision = "0004"
down_revision = "0003"

_SECONDS: TypeEngine[float] = REAL().with_variant(DOUBLE_PRECISION(), "postgresql")
_BYTES = BLOB().with_variant(BYTEA(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "reembeds",
        sa.Column("collection_id", sa.Text, primary_key=True),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("space", sa.Text, nullable=False),
        sa.Column("worker", sa.Text),
        sa.Column("lease_until", _SECONDS),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("updated_at", _SECONDS, nullable=False),
        if_not_exists=True,
    )
    inspector = sa.inspect(op.get_bind())
    for table, column in (
        ("collections", sa.Column("vector_space", sa.Text)),
        ("chunks", sa.Column("next_vector", _BYTES)),
    ):
        # A catalog whose revision table was lost is upgraded from the baseline again.
        if all(c["name"] != column.name for c in inspector.get_columns(table)):
            op.add_column(table, column)
