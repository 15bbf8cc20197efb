"""Evaluations people run on their own documents (issue 20): `evaluations` holds each run of a
golden set against a collection, its progress in questions, its failure's code and parameters
(JSON) beside the English text, and, once done, its report (JSON).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION
from sqlalchemy.dialects.sqlite import REAL
from sqlalchemy.types import TypeEngine

revision = "0006"
down_revision = "0005"

_SECONDS: TypeEngine[float] = REAL().with_variant(DOUBLE_PRECISION(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("collection_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("golden_file", sa.Text, nullable=False),
        sa.Column("top_k", sa.Integer, nullable=False),
        sa.Column("questions_done", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("questions_total", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("error", sa.Text),
        sa.Column("error_code", sa.Text),
        sa.Column("error_params", sa.Text),
        sa.Column("report", sa.Text),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("updated_at", _SECONDS, nullable=False),
        sa.Column("finished_at", _SECONDS),
        if_not_exists=True,
    )
    op.create_index(
        "evaluations_by_collection",
        "evaluations",
        ["collection_id", "created_at"],
        if_not_exists=True,
    )
