"""The catalog in PostgreSQL, shared by every API replica and worker of a scale-out
deployment: jobs are claimed with FOR UPDATE SKIP LOCKED, and the lexical index is a GIN-indexed
tsvector on each chunk row, ranked with BM25 like SQLite's FTS5."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from core.catalog.postgres_schema import SCHEMA, SCHEMA_LOCK
from core.catalog.records import ScoredChunk, StoredChunk, chunk_of
from core.catalog.sql import CHUNK_COLUMNS, LIVE, Db, Rows, SqlCatalog, marks
from core.catalog.tsearch import query_terms, tsquery_literal, tsvector_literal
from core.errors import BackendUnavailable, ConfigError
from core.settings import Settings

# Connections per process: API request threads and a worker's threads share them.
_POOL_SIZE = 10
_CONNECT_SECONDS = 10

# BM25's usual constants, as in SQLite's FTS5.
_K1 = 1.2
_B = 0.75

_SEARCH = f"""
WITH q AS (
    SELECT u.term, u.tq::tsquery AS tq
    FROM unnest(%(terms)s::text[], %(tqs)s::text[]) AS u(term, tq)
), stats AS (
    SELECT count(*)::float8 AS n, coalesce(nullif(avg(lexical_len), 0), 1)::float8 AS avgdl
    FROM chunks WHERE collection_id = %(cid)s AND lexical IS NOT NULL
), idf AS (
    SELECT q.term, ln(1 + (s.n - f.df + 0.5) / (f.df + 0.5)) AS idf
    FROM q CROSS JOIN stats s CROSS JOIN LATERAL (
        SELECT count(*)::float8 AS df FROM chunks c
        WHERE c.collection_id = %(cid)s AND c.lexical @@ q.tq
    ) f
), hits AS (
    SELECT c.rowid, c.lexical, c.lexical_len FROM chunks c
    JOIN documents d ON d.collection_id = c.collection_id AND d.id = c.document_id
    WHERE c.collection_id = %(cid)s AND c.lexical @@ %(query)s::tsquery
      AND d.status IN {LIVE} AND (%(docs)s::text[] IS NULL OR c.document_id = ANY(%(docs)s))
), scored AS (
    SELECT h.rowid, sum(
        i.idf * cardinality(v.positions) * {_K1 + 1}
        / (cardinality(v.positions) + {_K1} * (1 - {_B} + {_B} * h.lexical_len / s.avgdl))
    ) AS score
    FROM hits h CROSS JOIN stats s
    CROSS JOIN LATERAL unnest(ts_filter(setweight(h.lexical, 'A', %(terms)s::text[]), '{{a}}')) v
    JOIN idf i ON i.term = v.lexeme
    GROUP BY h.rowid
)
SELECT c.*, s.score FROM scored s JOIN chunks c ON c.rowid = s.rowid
ORDER BY s.score DESC, c.rowid LIMIT %(limit)s
"""


class _PgDb:
    """A connection that runs the shared statements, whose `?` placeholders psycopg spells
    `%s`."""

    def __init__(self, conn: psycopg.Connection[DictRow]) -> None:
        self._conn = conn

    def execute(self, sql: str, args: Sequence[Any] = (), /) -> Rows:
        return self._conn.execute(sql.replace("?", "%s"), args)

    def executemany(self, sql: str, args: Iterable[Sequence[Any]], /) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), args)


class PostgresCatalog(SqlCatalog):
    row_lock = " FOR UPDATE"
    claim_lock = " FOR UPDATE SKIP LOCKED"

    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise ConfigError("ZHIKU_DATABASE_URL must name the PostgreSQL database")
        url = settings.database_url
        try:
            # One plain connection first: an unreachable server fails here, at once and with
            # its own message, instead of as a pool timeout.
            with psycopg.connect(url, connect_timeout=_CONNECT_SECONDS) as conn:
                # Several processes may open a fresh database at once; CREATE ... IF NOT
                # EXISTS alone races on the system catalogs.
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                conn.execute(SCHEMA)
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
            yield _PgDb(conn)

    @contextmanager
    def reading(self) -> Iterator[Db]:
        with self._connection() as conn:
            yield _PgDb(conn)

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

    # lexical index: a tsvector column --------------------------------------------------------

    def create_lexical(self, db: Db, collection_id: str) -> None:
        """Nothing to do: the index is a column of the chunk rows."""

    def drop_lexical(self, db: Db, collection_id: str) -> None:
        """Nothing to do: the index goes with the chunk rows."""

    def unindex_document(self, db: Db, collection_id: str, document_id: str) -> None:
        """Nothing to do: the index goes with the chunk rows."""

    def insert_chunks(self, db: Db, rows: list[tuple[Any, ...]], lexical: Sequence[str]) -> None:
        if not rows:
            return
        db.executemany(
            f"INSERT INTO chunks ({CHUNK_COLUMNS}, lexical, lexical_len)"
            f" VALUES ({marks(rows[0])}, ?::tsvector, ?)",
            [(*row, *tsvector_literal(text)) for row, text in zip(rows, lexical, strict=True)],
        )

    def lexical_search(
        self,
        collection_id: str,
        tokens: Sequence[str],
        limit: int,
        document_ids: Sequence[str] | None = None,
    ) -> list[ScoredChunk]:
        """BM25 over the tsvectors; only searchable or ready documents are seen. Scores are
        positive, higher is better."""
        terms = query_terms(tokens)
        if not terms or (document_ids is not None and not document_ids):
            return []
        params = {
            "terms": terms,
            "tqs": [tsquery_literal([t]) for t in terms],
            "query": tsquery_literal(terms),
            "cid": collection_id,
            "docs": None if document_ids is None else list(document_ids),
            "limit": limit,
        }
        with self._connection() as conn:
            rows = conn.execute(_SEARCH, params).fetchall()
        return [ScoredChunk(chunk_of(r), float(r["score"])) for r in rows]

    def lexical_gaps(self, collection_id: str) -> tuple[list[StoredChunk], list[int]]:
        """The index lives in the chunk row, so it never holds entries without a chunk."""
        with self.reading() as db:
            rows = db.execute(
                "SELECT * FROM chunks WHERE collection_id=? AND lexical IS NULL",
                (collection_id,),
            ).fetchall()
        return [chunk_of(r) for r in rows], []

    def repair_lexical(
        self, collection_id: str, entries: Sequence[tuple[int, str]], orphans: Sequence[int]
    ) -> None:
        with self.transaction() as db:
            db.executemany(
                "UPDATE chunks SET lexical=?::tsvector, lexical_len=?"
                " WHERE rowid=? AND collection_id=?",
                [(*tsvector_literal(text), rowid, collection_id) for rowid, text in entries],
            )
            db.executemany(
                "UPDATE chunks SET lexical=NULL, lexical_len=0 WHERE rowid=? AND collection_id=?",
                [(rowid, collection_id) for rowid in orphans],
            )

    def lexical_rows(self, collection_id: str) -> int:
        with self.reading() as db:
            row = db.execute(
                "SELECT count(*) AS n FROM chunks WHERE collection_id=? AND lexical IS NOT NULL",
                (collection_id,),
            ).fetchone()
        return int(row["n"])
