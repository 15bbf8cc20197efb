"""The catalog in PostgreSQL, shared by every API replica and worker of a scale-out
deployment: its connections (a pool), one clock for leases, and row locks, so jobs are claimed
with FOR UPDATE SKIP LOCKED. Its lexical index is postgres_lexical.py's."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from core.catalog.migrations import at_head
from core.catalog.postgres_lexical import PgDb, PostgresLexicalIndex
from core.catalog.sql import Db
from core.errors import BackendUnavailable, ConfigError
from core.settings import Settings

# Connections per process: API request threads and a worker's threads share them.
_POOL_SIZE = 10
_CONNECT_SECONDS = 10


class PostgresCatalog(PostgresLexicalIndex):
    row_lock = " FOR UPDATE"
    claim_lock = " FOR UPDATE SKIP LOCKED"
    share_lock = " FOR SHARE"

    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise ConfigError("ZHIKU_DATABASE_URL must name the PostgreSQL database")
        url = settings.database_url
        try:
            # One plain connection first: an unreachable server fails here, at once and with
            # its own message, instead of as a pool timeout.
            with psycopg.connect(url, connect_timeout=_CONNECT_SECONDS) as conn:
                current = at_head(conn, "postgresql")
            if not current:
                _upgrade(url)
        except psycopg.OperationalError as exc:
            raise BackendUnavailable(
                f"the catalog database (ZHIKU_DATABASE_URL) is unavailable: {exc}"
            ) from exc
        self._pool = ConnectionPool(
            url,
            connection_class=psycopg.Connection[DictRow],
            kwargs={"row_factory": dict_row, "autocommit": True},
            min_size=1,
            max_size=_POOL_SIZE,
            # A connection broken by a server restart is replaced instead of failing a request.
            check=ConnectionPool.check_connection,
            name="zhiku-catalog",
            open=True,
        )
        # Collection id -> (when read, chunks, mean chunk length) for BM25.
        self._stats: dict[str, tuple[float, float, float]] = {}
        self._stats_lock = threading.Lock()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[DictRow]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise BackendUnavailable(
                f"the catalog database (ZHIKU_DATABASE_URL) is unavailable: {exc}"
            ) from exc

    def close(self) -> None:
        self._pool.close()

    def ping(self) -> None:
        with self._connection() as conn:
            conn.execute("SELECT 1")

    @contextmanager
    def transaction(self) -> Iterator[Db]:
        with self._connection() as conn, conn.transaction():
            db = PgDb(conn)
            yield db
            db.write_term_counts()

    @contextmanager
    def reading(self) -> Iterator[Db]:
        with self._connection() as conn:
            yield PgDb(conn)

    def now(self, db: Db) -> float:
        # One clock for every machine: leases must not depend on their clocks agreeing.
        row = db.execute("SELECT extract(epoch FROM clock_timestamp())::float8 AS now").fetchone()
        return float(row["now"])

    def lock_documents(self, db: Db, keys: Sequence[tuple[str, str]]) -> None:
        # Sorted, so two replicas adding overlapping batches cannot deadlock.
        for cid, did in sorted(set(keys)):
            db.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (f"{cid}/{did}",))

    def release_running_jobs(self) -> int:
        """None: other machines' workers share this database, so a running job may be held by
        a live worker; jobs of dead workers are taken again when their lease expires."""
        return 0


def _upgrade(url: str) -> None:
    import sqlalchemy.exc

    from core.catalog.migrations.runner import postgres_url, upgrade

    try:
        upgrade(postgres_url(url), connect_timeout=_CONNECT_SECONDS)
    except sqlalchemy.exc.OperationalError as exc:
        raise BackendUnavailable(
            f"the catalog database (ZHIKU_DATABASE_URL) is unavailable: {exc.orig}"
        ) from exc
