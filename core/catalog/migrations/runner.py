"""Brings a catalog database of either kind to the schema of core/catalog/schema.py, through
the Alembic revisions in versions/."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.pool import NullPool

# Any constant works; it only has to be the same in every process that opens the catalog.
SCHEMA_LOCK = 7_302_114_563_001

_SCRIPTS = ScriptDirectory(str(Path(__file__).parent))
# Alembic lists each plugin it sets up at INFO: a dozen lines before every `zhiku` command's
# own output on a fresh data directory. The revisions it runs stay logged.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def sqlite_url(path: Path) -> URL:
    return URL.create("sqlite", database=str(path))


def postgres_url(url: str) -> URL:
    """The catalog's `postgresql://` URL for SQLAlchemy's psycopg 3 driver, with its query
    options (such as a search_path) kept."""
    return make_url(url).set(drivername="postgresql+psycopg")


def head() -> str:
    """The revision a catalog is at once upgraded."""
    revision = _SCRIPTS.get_current_head()
    assert revision is not None
    return revision


def upgrade(url: URL, target: str = "head", **connect_args: Any) -> None:
    """Run the revisions the database lacks up to `target`, one process at a time; a catalog
    made before revisions were recorded holds no alembic_version and goes through them all,
    and the baseline finds its tables already there."""
    engine = _engine(url, connect_args)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # CREATE ... IF NOT EXISTS alone races on the system catalogs.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            # The steps from the database's revision to head, as Alembic's own upgrade
            # command computes them; no env.py, since the connection is already made.
            context = MigrationContext.configure(
                conn, opts={"fn": lambda rev, _: _SCRIPTS._upgrade_revs(target, rev)}
            )
            with Operations.context(context):
                context.run_migrations()
    finally:
        engine.dispose()


def schema_version(url: URL, **connect_args: Any) -> str | None:
    """The database's revision; None before its first upgrade."""
    engine = _engine(url, connect_args)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _engine(url: URL, connect_args: dict[str, Any]) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30, **connect_args})

    # pysqlite would begin a deferred transaction only before the first INSERT; an immediate
    # one takes the write lock up front, so processes opening a fresh catalog at once wait
    # for one another and the schema changes commit together.
    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
