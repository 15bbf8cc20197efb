"""Conversations and the page (issue 19): a collection keeps the settings a user may change
per knowledge base (JSON: top_k, answer backend, abstention threshold; NULL: the service's);
a conversation keeps the documents it is limited to (JSON list; NULL: all of them); a
document's and a job's failure keep a stable code and its parameters (JSON) beside the English
text, so the page can say it in the reader's language.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table, column in (
        ("collections", "settings"),
        ("conversations", "document_ids"),
        ("documents", "error_code"),
        ("documents", "error_params"),
        ("jobs", "error_code"),
        ("jobs", "error_params"),
    ):
        # A catalog whose revision table was lost is upgraded from the baseline again.
        if all(c["name"] != column for c in inspector.get_columns(table)):
            op.add_column(table, sa.Column(column, sa.Text))
