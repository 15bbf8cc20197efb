"""The catalog in SQLite (WAL), with one FTS5 table per collection as the lexical index, so a
chunk and its lexical entry commit together."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tenacity import retry, retry_if_exception_message, stop_after_delay, wait_random

from core.catalog.migrations import at_head
from core.catalog.records import PassageChunk, ScoredChunk, StoredChunk, chunk_of
from core.catalog.sql import CHUNK_COLUMNS, STORED_CHUNK_COLUMNS, Db, SqlCatalog, marks
from core.catalog.sqlite_fts import fts_create, fts_table
from core.catalog.term_budget import rarest_terms
from core.errors import ConfigError
from core.settings import Settings


def sqlite_path(settings: Settings) -> Path:
    """`sqlite:///relative/path` or `sqlite:////absolute/path`; the data directory's
    catalog when no URL is set."""
    if not settings.database_url:
        return settings.catalog_path
    scheme, _, rest = settings.database_url.partition(":///")
    if scheme != "sqlite" or not rest:
        raise ConfigError(
            f"ZHIKU_DATABASE_URL {settings.database_url!r} is not a SQLite URL"
            " (sqlite:///path/to/catalog.sqlite3)"
        )
    return Path(rest)


@retry(
    retry=retry_if_exception_message(match="database is locked"),
    wait=wait_random(0.01, 0.1),
    stop=stop_after_delay(30),
    reraise=True,
)
def _use_wal(db: sqlite3.Connection) -> None:
    # Switching a fresh file to WAL needs a moment alone with it and does not wait for the
    # busy timeout, so processes opening a new catalog at once retry.
    db.execute("PRAGMA journal_mode=WAL")


class SqliteCatalog(SqlCatalog):
    def __init__(self, settings: Settings) -> None:
        self.path = sqlite_path(settings)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # In WAL before the schema is written, so readers never wait for an upgrade.
        if not at_head(self._db(), "sqlite"):
            from core.catalog.migrations.runner import sqlite_url, upgrade

            upgrade(sqlite_url(self.path))

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            db.row_factory = sqlite3.Row
            _use_wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    def close(self) -> None:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def ping(self) -> None:
        self.pragma("quick_check")

    @contextmanager
    def transaction(self) -> Iterator[Db]:
        db = self._db()
        # IMMEDIATE takes the write lock up front: a read-then-write transaction that upgrades
        # later can fail with SQLITE_BUSY instead of waiting. It also makes every claim and
        # every read-then-write atomic, so no row locks are needed.
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[Db]:
        yield self._db()

    def lock_documents(self, db: Db, keys: Sequence[tuple[str, str]]) -> None:
        """Nothing to do: BEGIN IMMEDIATE already serialises every writer."""

    def pragma(self, name: str) -> Any:
        return self._db().execute(f"PRAGMA {name}").fetchone()[0]

    # lexical index: FTS5 -----------------------------------------------------------------

    def create_lexical(self, db: Db, collection_id: str) -> None:
        db.execute(fts_create(collection_id))

    def drop_lexical(self, db: Db, collection_id: str) -> None:
        db.execute(f"DROP TABLE IF EXISTS {fts_table(collection_id)}")

    def unindex_document(self, db: Db, collection_id: str, document_id: str) -> None:
        db.execute(
            f"DELETE FROM {fts_table(collection_id)} WHERE rowid IN"
            " (SELECT rowid FROM chunks WHERE collection_id=? AND document_id=?)",
            (collection_id, document_id),
        )

    def insert_chunks(self, db: Db, rows: list[tuple[Any, ...]], lexical: Sequence[str]) -> None:
        if not rows:
            return
        db.executemany(f"INSERT INTO chunks ({CHUNK_COLUMNS}) VALUES ({marks(rows[0])})", rows)
        cid, did = rows[0][0], rows[0][1]
        db.execute(
            f"INSERT INTO {fts_table(cid)} (rowid, tokens) SELECT c.rowid, t.value"
            " FROM json_each(?) t JOIN chunks c ON c.collection_id=? AND c.document_id=?"
            " AND c.seq=t.key",
            (json.dumps(list(lexical), ensure_ascii=False), cid, did),
        )

    def lexical_search(
        self,
        collection_id: str,
        tokens: Sequence[str],
        limit: int,
        document_ids: Sequence[str] | None = None,
    ) -> list[ScoredChunk]:
        """BM25 over the pre-tokenised index, with the rarest terms within the candidate
        budget; only searchable or ready documents are in it. Scores are positive, higher is
        better."""
        if document_ids is not None and not document_ids:
            return []
        table = fts_table(collection_id)
        db = self._db()
        terms = list(self.scored_terms(collection_id, tokens))
        if not terms:
            return []
        query = " OR ".join(_phrase(t) for t in terms)
        if document_ids is None:
            # Ranked inside FTS5 first, so only the best rows are joined with their chunks.
            rows = db.execute(
                f"SELECT {STORED_CHUNK_COLUMNS}, -s.rank AS score"
                f" FROM (SELECT rowid, rank FROM {table}"
                f" WHERE {table} MATCH ? ORDER BY rank LIMIT ?) s"
                " JOIN chunks c ON c.rowid=s.rowid ORDER BY s.rank",
                (query, limit),
            )
        else:
            rows = db.execute(
                f"SELECT {STORED_CHUNK_COLUMNS}, -{table}.rank AS score"
                f" FROM {table} JOIN chunks c"
                f" ON c.rowid={table}.rowid WHERE {table} MATCH ?"
                f" AND c.document_id IN ({marks(document_ids)}) ORDER BY {table}.rank LIMIT ?",
                (query, *document_ids, limit),
            )
        return [ScoredChunk(chunk_of(r), float(r["score"])) for r in rows]

    def scored_terms(self, collection_id: str, tokens: Sequence[str]) -> dict[str, int]:
        table = fts_table(collection_id)
        db = self._db()
        # Counting stops past the budget: a common term costs no more than a rare one.
        matches = {
            term: db.execute(
                f"SELECT count(*) FROM (SELECT rowid FROM {table} WHERE {table} MATCH ? LIMIT ?)",
                (_phrase(term), self.lexical_budget + 1),
            ).fetchone()[0]
            for term in dict.fromkeys(tokens)
        }
        return {t: matches[t] for t in rarest_terms(matches, self.lexical_budget)}

    def passage_chunks(
        self, collection_id: str, ranges: Sequence[tuple[str, int, int]], terms: Sequence[str]
    ) -> list[PassageChunk]:
        if not ranges:
            return []
        table = fts_table(collection_id)
        # The ranges lead the join, so each is one seek in chunks_by_document.
        rows = self._db().execute(
            "WITH r AS (SELECT value->>0 AS doc, value->>1 AS first, value->>2 AS last"
            " FROM json_each(?))"
            f" SELECT {STORED_CHUNK_COLUMNS}, f.tokens AS lexical FROM r CROSS JOIN chunks c"
            f" JOIN {table} f ON f.rowid=c.rowid"
            " WHERE c.collection_id=? AND c.document_id=r.doc AND c.seq BETWEEN r.first AND r.last",
            (json.dumps([list(r) for r in ranges]), collection_id),
        )
        wanted = set(terms)
        found = []
        for row in rows:
            tokens = row["lexical"].split()
            counts = Counter(t for t in tokens if t in wanted)
            found.append(PassageChunk(chunk_of(row), len(tokens), dict(counts)))
        return found

    def lexical_gaps(self, collection_id: str) -> tuple[list[StoredChunk], list[int]]:
        table = fts_table(collection_id)
        db = self._db()
        missing = db.execute(
            f"SELECT {STORED_CHUNK_COLUMNS} FROM chunks c"
            " WHERE c.collection_id=? AND c.rowid NOT IN"
            f" (SELECT rowid FROM {table})",
            (collection_id,),
        )
        orphans = db.execute(
            f"SELECT rowid FROM {table} WHERE rowid NOT IN"
            " (SELECT rowid FROM chunks WHERE collection_id=?)",
            (collection_id,),
        )
        return [chunk_of(r) for r in missing], [r[0] for r in orphans]

    def repair_lexical(
        self, collection_id: str, entries: Sequence[tuple[int, str]], orphans: Sequence[int]
    ) -> None:
        table = fts_table(collection_id)
        with self.transaction() as db:
            db.executemany(f"INSERT INTO {table} (rowid, tokens) VALUES (?,?)", entries)
            db.executemany(f"DELETE FROM {table} WHERE rowid=?", [(r,) for r in orphans])

    def lexical_rows(self, collection_id: str) -> int:
        row = self._db().execute(f"SELECT count(*) FROM {fts_table(collection_id)}")
        return int(row.fetchone()[0])


def _phrase(term: str) -> str:
    """An FTS5 string literal: any term text is matched as itself."""
    return '"' + term.replace('"', '""') + '"'
