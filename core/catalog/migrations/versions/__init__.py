"""The Alembic revisions, oldest first; each file is one step of the catalog's schema."""
