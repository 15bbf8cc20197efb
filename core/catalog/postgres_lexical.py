"""The PostgreSQL catalog's lexical index: a GIN-indexed tsvector per chunk in a narrow table
beside the chunks (lexical_entries), ranked with BM25 like SQLite's FTS5, with each term's count
of chunks kept in `lexical_terms` by the transactions that add and remove chunks. A mixin of
PostgresCatalog, which supplies the connections."""

from __future__ import annotations

import math
import threading
import time
from abc import abstractmethod
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg.rows import DictRow

from core.catalog.chunk_columns import CHUNK_COLUMNS, STORED_CHUNK_COLUMNS
from core.catalog.records import PassageChunk, ScoredChunk, StoredChunk, chunk_of
from core.catalog.sql import LIVE, Db, Rows, SqlCatalog, marks
from core.catalog.term_budget import rarest_terms
from core.catalog.tsearch import lexemes, query_terms, tsquery_literal, tsvector_literal

# BM25's usual constants, as in SQLite's FTS5.
_K1 = 1.2
_B = 0.75

# The entries holding a query's terms come from the full-text index alone, in a CTE of their
# own: read lazily, they stop at the budget, and the planner cannot choose to walk the whole
# collection through lexical_entries_by_document instead (as it does when the tables were never
# analysed). Entries exist only for chunks of searchable and ready documents.
_MATCHING = """
matching AS MATERIALIZED (
    SELECT rowid, collection_id, document_id, terms AS lexical, len AS lexical_len
    FROM lexical_entries WHERE terms @@ %(query)s::tsquery
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
SELECT {STORED_CHUNK_COLUMNS}, s.score FROM scored s JOIN chunks c ON c.rowid = s.rowid
ORDER BY s.score DESC, c.rowid
"""

# How many chunks of the collection hold each term: a few index entries per term, however
# common it is.
_TERM_COUNTS = """
SELECT term, sum(chunks)::bigint AS n FROM lexical_terms
WHERE collection_id = %(cid)s AND term = ANY(%(terms)s::text[])
GROUP BY term
"""

# A transaction's changes to the term counts, in one statement at its end: rows are locked in
# one order (collection, term) by every writer, and only until the commit that follows, so
# concurrent writers neither deadlock nor wait long; a connection writes to its own shard's
# rows, so most never wait at all.
_TERM_SHARDS = 8
_ADD_TERM_COUNTS = f"""
INSERT INTO lexical_terms AS t (collection_id, term, shard, chunks)
SELECT u.cid, u.term, mod(pg_backend_pid(), {_TERM_SHARDS}), u.n
FROM unnest(%(cids)s::text[], %(terms)s::text[], %(ns)s::bigint[]) AS u(cid, term, n)
ORDER BY u.cid, u.term
ON CONFLICT (collection_id, term, shard) DO UPDATE SET chunks = t.chunks + excluded.chunks
"""

# The terms of lexical entries about to be removed or rewritten.
_ENTRY_TERMS = """
SELECT t.term, count(*) AS n
FROM lexical_entries e CROSS JOIN LATERAL unnest(tsvector_to_array(e.terms)) AS t(term)
WHERE e.collection_id = ? AND {where}
GROUP BY t.term
"""

# The collection's size and mean chunk length, for BM25; the mean comes from a sample, exact up
# to its size. Reading them costs a few milliseconds per 10⁵ chunks and they change slowly, so
# a large collection's are kept for a while instead of read per query.
_STATS = f"""
SELECT (SELECT coalesce(sum(chunks), 0) FROM documents
        WHERE collection_id = %(cid)s AND status IN {LIVE})::float8 AS n,
       (SELECT coalesce(nullif(avg(lexical_len), 0), 1) FROM (
            SELECT len AS lexical_len FROM lexical_entries WHERE collection_id = %(cid)s
            LIMIT 10000) s)::float8 AS avgdl
"""
# The chunks of some (document, seq range)s, each with its counts of the query's terms.
_PASSAGES = f"""
SELECT {STORED_CHUNK_COLUMNS}, e.len AS lexical_len, coalesce((
    SELECT jsonb_object_agg(v.lexeme, cardinality(v.positions))
    FROM unnest(ts_filter(setweight(e.terms, 'A', %(terms)s::text[]), '{{a}}')) v
), '{{}}'::jsonb) AS counts
FROM unnest(%(docs)s::text[], %(firsts)s::int[], %(lasts)s::int[]) AS r(doc, first, last)
JOIN chunks c ON c.collection_id = %(cid)s AND c.document_id = r.doc
    AND c.seq BETWEEN r.first AND r.last
JOIN lexical_entries e ON e.rowid = c.rowid
"""
_STATS_SECONDS = 60.0
_STATS_KEPT_FROM = 10_000


class PgDb:
    """A connection that runs the shared statements, whose `?` placeholders psycopg spells
    `%s`, and gathers a transaction's changes to the term counts."""

    def __init__(self, conn: psycopg.Connection[DictRow]) -> None:
        self._conn = conn
        self._terms: Counter[tuple[str, str]] = Counter()

    def count_terms(self, collection_id: str, terms: Iterable[str]) -> None:
        """Count one more chunk for each of `terms`."""
        for term in terms:
            self._terms[(collection_id, term)] += 1

    def uncount_entries(self, collection_id: str, where: str, args: Sequence[Any]) -> None:
        """Take back the terms of the lexical entries `where` selects."""
        for row in self.execute(_ENTRY_TERMS.format(where=where), (collection_id, *args)):
            self._terms[(collection_id, row["term"])] -= int(row["n"])

    def write_term_counts(self) -> None:
        changed = sorted((key, n) for key, n in self._terms.items() if n)
        self._terms.clear()
        if changed:
            self._conn.execute(
                _ADD_TERM_COUNTS,
                {
                    "cids": [cid for (cid, _), _ in changed],
                    "terms": [term for (_, term), _ in changed],
                    "ns": [n for _, n in changed],
                },
            )

    def execute(self, sql: str, args: Sequence[Any] = (), /) -> Rows:
        return self._conn.execute(sql.replace("?", "%s"), args)

    def executemany(self, sql: str, args: Iterable[Sequence[Any]], /) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), args)


class PostgresLexicalIndex(SqlCatalog):
    """The lexical index's part of PostgresCatalog."""

    # Collection id -> (when read, chunks, mean chunk length) for BM25, kept by PostgresCatalog.
    _stats: dict[str, tuple[float, float, float]]
    _stats_lock: threading.Lock

    @abstractmethod
    def _connection(self) -> AbstractContextManager[psycopg.Connection[DictRow]]:
        """A pooled connection; BackendUnavailable when none can be had."""

    @staticmethod
    def _writing(db: Db) -> PgDb:
        assert isinstance(db, PgDb), "the lexical index changes only in a transaction()"
        return db

    def create_lexical(self, db: Db, collection_id: str) -> None:
        """Nothing to do: the collection's entries and counts are rows of shared tables."""

    def drop_lexical(self, db: Db, collection_id: str) -> None:
        db.execute("DELETE FROM lexical_entries WHERE collection_id=?", (collection_id,))
        db.execute("DELETE FROM lexical_terms WHERE collection_id=?", (collection_id,))

    def unindex_document(self, db: Db, collection_id: str, document_id: str) -> None:
        pg = self._writing(db)
        pg.uncount_entries(collection_id, "e.document_id = ?", (document_id,))
        pg.execute(
            "DELETE FROM lexical_entries WHERE collection_id=? AND document_id=?",
            (collection_id, document_id),
        )

    def insert_chunks(self, db: Db, rows: list[tuple[Any, ...]], lexical: Sequence[str]) -> None:
        """`rows` are one document's."""
        if not rows:
            return
        pg = self._writing(db)
        pg.executemany(f"INSERT INTO chunks ({CHUNK_COLUMNS}) VALUES ({marks(rows[0])})", rows)
        cid, did = rows[0][0], rows[0][1]
        entries = [tsvector_literal(text) for text in lexical]
        pg.execute(
            "INSERT INTO lexical_entries (rowid, collection_id, document_id, terms, len)"
            " SELECT c.rowid, c.collection_id, c.document_id, u.terms::tsvector, u.len"
            " FROM unnest(?::int[], ?::text[], ?::int[]) AS u(seq, terms, len)"
            " JOIN chunks c ON c.collection_id=? AND c.document_id=? AND c.seq=u.seq",
            (
                [row[3] for row in rows],
                [terms for terms, _ in entries],
                [length for _, length in entries],
                cid,
                did,
            ),
        )
        for text in lexical:
            pg.count_terms(cid, lexemes(text))

    def term_counts(self, collection_id: str) -> dict[str, int]:
        """Every term of the collection with the chunks holding it, as kept (for checks)."""
        with self.reading() as db:
            rows = db.execute(
                "SELECT term, sum(chunks)::bigint AS n FROM lexical_terms WHERE collection_id=?"
                " GROUP BY term HAVING sum(chunks) <> 0",
                (collection_id,),
            ).fetchall()
        return {r["term"]: int(r["n"]) for r in rows}

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
            picked = self._rarest(matches)
            if not picked:
                return []
            n, avgdl = self._bm25_stats(conn, collection_id, max(matches[t] for t in picked))
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

    @staticmethod
    def _term_matches(
        conn: psycopg.Connection[DictRow], collection_id: str, terms: Sequence[str]
    ) -> dict[str, int]:
        """How many chunks of the collection hold each term (0 for none), as kept."""
        counted = {
            r["term"]: int(r["n"])
            for r in conn.execute(_TERM_COUNTS, {"cid": collection_id, "terms": list(terms)})
        }
        return {t: counted.get(t, 0) for t in terms}

    def _rarest(self, matches: dict[str, int]) -> list[str]:
        """Picked by counts capped as SQLite's catalog counts them, so both pick alike."""
        cap = self.lexical_budget + 1
        return rarest_terms({t: min(n, cap) for t, n in matches.items()}, cap - 1)

    def scored_terms(self, collection_id: str, tokens: Sequence[str]) -> dict[str, int]:
        with self._connection() as conn:
            matches = self._term_matches(conn, collection_id, query_terms(tokens))
        return {t: matches[t] for t in self._rarest(matches)}

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
        with self.reading() as db:
            missing = db.execute(
                f"SELECT {STORED_CHUNK_COLUMNS} FROM chunks c"
                " WHERE c.collection_id=? AND NOT EXISTS"
                " (SELECT 1 FROM lexical_entries e WHERE e.rowid=c.rowid)",
                (collection_id,),
            ).fetchall()
            orphans = db.execute(
                "SELECT e.rowid FROM lexical_entries e WHERE e.collection_id=? AND NOT EXISTS"
                " (SELECT 1 FROM chunks c WHERE c.rowid=e.rowid AND c.collection_id=?)",
                (collection_id, collection_id),
            ).fetchall()
        return [chunk_of(r) for r in missing], [r["rowid"] for r in orphans]

    def repair_lexical(
        self, collection_id: str, entries: Sequence[tuple[int, str]], orphans: Sequence[int]
    ) -> None:
        with self.transaction() as db:
            pg = self._writing(db)
            rowids = [rowid for rowid, _ in entries] + list(orphans)
            if rowids:
                pg.uncount_entries(collection_id, "e.rowid = ANY(?)", (rowids,))
            pg.executemany(
                "DELETE FROM lexical_entries WHERE rowid=? AND collection_id=?",
                [(rowid, collection_id) for rowid in rowids],
            )
            for rowid, text in entries:
                terms, length = tsvector_literal(text)
                # Only for a chunk of the collection: an entry for a missing row is no entry.
                added = pg.execute(
                    "INSERT INTO lexical_entries (rowid, collection_id, document_id, terms, len)"
                    " SELECT rowid, collection_id, document_id, ?::tsvector, ? FROM chunks"
                    " WHERE rowid=? AND collection_id=?",
                    (terms, length, rowid, collection_id),
                )
                if added.rowcount:
                    pg.count_terms(collection_id, lexemes(text))

    def lexical_rows(self, collection_id: str) -> int:
        with self.reading() as db:
            row = db.execute(
                "SELECT count(*) AS n FROM lexical_entries WHERE collection_id=?",
                (collection_id,),
            ).fetchone()
        return int(row["n"])
