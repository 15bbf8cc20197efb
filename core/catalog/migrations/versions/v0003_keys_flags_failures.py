"""Hardening (issue 17): API keys kept in the catalog (hashed, with their scopes), so replicas
share them; a chunk's flags (bits: text that speaks to the model as an instruction, and later
text read by OCR); and a job's failures, counted apart from its claims, so that an attempt cut
short by a stopping process does not count against the document.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION
from sqlalchemy.dialects.sqlite import REAL
from sqlalchemy.types import TypeEngine

revision = "0003"
down_revision = "0002"

_SECONDS: TypeEngine[float] = REAL().with_variant(DOUBLE_PRECISION(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("secret_hash", sa.Text, nullable=False, unique=True),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("last_used_at", _SECONDS),
        sa.Column("revoked_at", _SECONDS),
        if_not_exists=True,
    )
    inspector = sa.inspect(op.get_bind())
    for table, column in (("chunks", "flags"), ("jobs", "failures")):
        # A catalog whose revision table was lost is upgraded from the baseline again.
        if all(c["name"] != column for c in inspector.get_columns(table)):
            op.add_column(
                table, sa.Column(column, sa.Integer, nullable=False, server_default=sa.text("0"))
            )
