"""The catalog in PostgreSQL, shared by every API replica and worker of a scale-out
deployment: jobs are claimed with FOR UPDATE SKIP LOCKED, and the lexical index is a GIN-indexed
tsvector on each chunk row, ranked with BM25 like SQLite's FTS5."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from core.catalog.postgres_schema import SCHEMA, SCHEMA_LOCK
from core.catalog.records import PassageChunk, ScoredChunk, StoredChunk, chunk_of
from core.catalog.sql import CHUNK_COLUMNS, LIVE, Db, Rows, SqlCatalog, marks
from core.catalog.term_budget import rarest_terms
from core.catalog.tsearch import query_terms, tsquery_literal, tsvector_literal
from core.errors import BackendUnavailable, ConfigError
from core.settings import Settings

# Connections per process: API request threads and a worker's threads share them.
_POOL_SIZE = 10
_CONNECT_SECONDS = 10

# BM25's usual constants, as in SQLite's FTS5.
_K1 = 1.2
_B = 0.75

# The rows holding a query's terms come from the full-text index alone, in a CTE of their own:
# read lazily, they stop at the budget, and the planner cannot choose to walk the whole
# collection through chunks_by_document instead (as it does when the tables were never
# analysed). Chunk rows exist only for searchable and ready documents.
_MATCHING = """
matching AS MATERIALIZED (
    SELECT rowid, collection_id, document_id, lexical, lexical_len FROM chunks
    WHERE lexical @@ %(query)s::tsquery
)"""

# BM25 of the candidates, ranked before the best ones are joined with their chunk rows; each
# term's idf comes from its counted matches.
_SEARCH = f"""
WITH {_MATCHING}, q AS (
    SELECT u.term, u.idf FROM unnest(%(terms)s::text[], %(idfs)s::float8[]) AS u(term, idf)
), hits AS (
    SELECT rowid, lexical, lexical_len FROM matching
    WHERE collection_id = %(cid)s AND (%(docs)s::text[] IS NULL OR document_id = ANY(%(docs)s))
    LIMIT %(budget)s
), scored AS (
    SELECT h.rowid, sum(
        q.idf * cardinality(v.positions) * {_K1 + 1}
        / (cardinality(v.positions) + {_K1} * (1 - {_B} + {_B} * h.lexical_len / %(avgdl)s))
    ) AS score
    FROM hits h
    CROSS JOIN LATERAL unnest(ts_filter(setweight(h.lexical, 'A', %(terms)s::text[]), '{{a}}')) v
    JOIN q ON q.term = v.lexeme
    GROUP BY h.rowid
    ORDER BY score DESC, h.rowid
    LIMIT %(limit)s
)
SELECT c.*, s.score FROM scored s JOIN chunks c ON c.rowid = s.rowid
ORDER BY s.score DESC, c.rowid
"""

# Counting stops past the budget: a common term costs no more than a rare one. Found as above,
# with only the column the count needs.
_MATCHES = """
WITH matching AS MATERIALIZED (
    SELECT collection_id FROM chunks WHERE lexical @@ %(query)s::tsquery
)
SELECT count(*) AS n FROM (SELECT 1 FROM matching WHERE collection_id = %(cid)s LIMIT %(cap)s) m
"""

# The collection's size and mean chunk length, for BM25; the mean comes from a sample, exact up
# to its size. Reading them costs a few milliseconds per 10⁵ chunks and they change slowly, so
# a large collection's are kept for a while instead of read per query.
_STATS = f"""
SELECT (SELECT coalesce(sum(chunks), 0) FROM documents
        WHERE collection_id = %(cid)s AND status IN {LIVE})::float8 AS n,
       (SELECT coalesce(nullif(avg(lexical_len), 0), 1) FROM (
            SELECT lexical_len FROM chunks WHERE collection_id = %(cid)s AND lexical IS NOT NULL
            LIMIT 10000) s)::float8 AS avgdl
"""
# The chunks of some (document, seq range)s, each with its counts of the query's terms.
_PASSAGES = """
SELECT c.*, coalesce((
    SELECT jsonb_object_agg(v.lexeme, cardinality(v.positions))
    FROM unnest(ts_filter(setweight(c.lexical, 'A', %(terms)s::text[]), '{a}')) v
), '{}'::jsonb) AS counts
FROM unnest(%(docs)s::text[], %(firsts)s::int[], %(lasts)s::int[]) AS r(doc, first, last)
JOIN chunks c ON c.collection_id = %(cid)s AND c.document_id = r.doc
    AND c.seq BETWEEN r.first AND r.last
WHERE c.lexical IS NOT NULL
"""
_STATS_SECONDS = 60.0
_STATS_KEPT_FROM = 10_000


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
        """BM25 over the tsvectors, with the rarest terms within the candidate budget; only
        searchable or ready documents are seen. Scores are positive, higher is better."""
        terms = query_terms(tokens)
        if not terms or (document_ids is not None and not document_ids):
            return []
        with self._connection() as conn:
            matches = self._term_matches(conn, collection_id, terms)
            picked = rarest_terms(matches, self.lexical_budget)
            if not picked:
                return []
            n, avgdl = self._bm25_stats(conn, collection_id, max(matches.values()))
            params = {
                "terms": picked,
                # BM25's idf, as in SQLite's FTS5.
                "idfs": [math.log(1 + (n - matches[t] + 0.5) / (matches[t] + 0.5)) for t in picked],
                "query": tsquery_literal(picked),
                "cid": collection_id,
                "docs": None if document_ids is None else list(document_ids),
                "budget": self.lexical_budget,
                "avgdl": avgdl,
                "limit": limit,
            }
            rows = conn.execute(_SEARCH, params).fetchall()
        return [ScoredChunk(chunk_of(r), float(r["score"])) for r in rows]

    def _term_matches(
        self, conn: psycopg.Connection[DictRow], collection_id: str, terms: Sequence[str]
    ) -> dict[str, int]:
        cap = self.lexical_budget + 1
        return {
            t: int(
                conn.execute(
                    _MATCHES, {"query": tsquery_literal([t]), "cid": collection_id, "cap": cap}
                ).fetchone()["n"]  # type: ignore[index]
            )
            for t in terms
        }

    def scored_terms(self, collection_id: str, tokens: Sequence[str]) -> dict[str, int]:
        with self._connection() as conn:
            matches = self._term_matches(conn, collection_id, query_terms(tokens))
        return {t: matches[t] for t in rarest_terms(matches, self.lexical_budget)}

    def passage_chunks(
        self, collection_id: str, ranges: Sequence[tuple[str, int, int]], terms: Sequence[str]
    ) -> list[PassageChunk]:
        if not ranges:
            return []
        with self._connection() as conn:
            rows = conn.execute(
                _PASSAGES,
                {
                    "cid": collection_id,
                    "docs": [r[0] for r in ranges],
                    "firsts": [r[1] for r in ranges],
                    "lasts": [r[2] for r in ranges],
                    "terms": query_terms(terms),
                },
            ).fetchall()
        return [PassageChunk(chunk_of(r), int(r["lexical_len"]), r["counts"]) for r in rows]

    def _bm25_stats(
        self, conn: psycopg.Connection[DictRow], collection_id: str, most_matches: int
    ) -> tuple[float, float]:
        """(chunks, mean chunk length); kept ones are read again once stale or once a term
        matches more chunks than they count."""
        now = time.monotonic()
        with self._stats_lock:
            kept = self._stats.get(collection_id)
        if kept is not None and now - kept[0] < _STATS_SECONDS and kept[1] >= most_matches:
            return kept[1], kept[2]
        row = conn.execute(_STATS, {"cid": collection_id}).fetchone()
        n, avgdl = (float(row["n"]), float(row["avgdl"])) if row else (0.0, 1.0)
        with self._stats_lock:
            if n >= _STATS_KEPT_FROM:
                self._stats[collection_id] = (now, n, avgdl)
            else:
                self._stats.pop(collection_id, None)
        return max(n, most_matches), avgdl

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
