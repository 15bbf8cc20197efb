"""Schema revisions, on SQLite and on PostgreSQL: a catalog made by the main branch before
revisions were recorded is upgraded in place with its rows, a fresh one is made at the head
revision, concurrent openers all succeed, and the revisions make exactly the declared tables."""

from __future__ import annotations

import json
import sqlite3
import struct
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import URL, create_engine, inspect
from sqlalchemy.engine import Inspector
from sqlalchemy.pool import NullPool

from core.catalog import Catalog, open_catalog
from core.catalog.migrations import HEAD
from core.catalog.migrations.runner import head, postgres_url, schema_version, sqlite_url
from core.catalog.records import DocumentStatus, JobStage, JobState, NewDocument, chunk_id
from core.catalog.schema import metadata, tables_for
from core.catalog.sqlite import sqlite_path
from core.catalog.tsearch import lexemes, tsvector_literal
from core.errors import Conflict
from core.lexical_tokens import lexical_tokens
from core.settings import Settings
from core.types import ChunkDraft
from tests.catalog_main_2026_12 import POSTGRES_SCHEMA, SQLITE_FTS, SQLITE_SCHEMA
from tests.conftest import make_settings

CID = "0123456789abcdef0123456789abcdef"
DID = "ab" * 32
NEW_DID = "cd" * 32
JOB = "f" * 32
CONVERSATION = "e" * 32
HEADING = ("运维", "Operations")
TEXTS = ("数据备份每晚进行，保留三十天。", "Nightly backups keep the data safe for thirty days.")
NOW = 1_796_000_000.0


@pytest.fixture
def settings(tmp_path: Path, catalog_url: str | None) -> Settings:
    return make_settings(tmp_path / "data", database_url=catalog_url)


@pytest.fixture
def other_settings(
    tmp_path: Path, catalog_url: str | None, request: pytest.FixtureRequest
) -> Iterator[Settings]:
    """A second, empty database of the same kind."""
    if catalog_url is None:
        (tmp_path / "other").mkdir()
        yield make_settings(tmp_path / "other")
        return
    server: str = request.getfixturevalue("postgres_server")
    schema = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield make_settings(
            tmp_path / "other", database_url=f"{server}?options=-csearch_path%3D{schema}"
        )
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _url(settings: Settings) -> URL:
    if settings.database_url is None:
        return sqlite_url(sqlite_path(settings))
    return postgres_url(settings.database_url)


def _lexical(text: str) -> str:
    return " ".join(lexical_tokens("\n".join((*HEADING, text))))


def _make_main_catalog(settings: Settings) -> None:
    """The catalog as main made it, with what main wrote into it: a collection, a ready
    document with two indexed chunks, its job, and a conversation."""
    if settings.database_url is None:
        path = sqlite_path(settings)
        path.parent.mkdir(parents=True)
        with sqlite3.connect(path, isolation_level=None) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SQLITE_SCHEMA)
            db.execute(SQLITE_FTS.format(collection_id=CID))
            _write_rows(db.execute, "?")
        db.close()
    else:
        with psycopg.connect(settings.database_url) as pg:
            pg.execute(POSTGRES_SCHEMA)
            _write_rows(pg.execute, "%s")


def _write_rows(execute: Any, mark: str) -> None:
    def run(sql: str, args: tuple[Any, ...]) -> Any:
        return execute(sql.replace("?", mark), args)

    run("INSERT INTO collections VALUES (?,?,?,?,?,?)", (CID, "kb", "model", 200, 20, NOW))
    run(
        "INSERT INTO documents (collection_id, id, filename, media_type, size, status, error,"
        " pages, chunks, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (CID, DID, "ops.txt", "text/plain", 120, "ready", None, 1, 2, NOW, NOW),
    )
    for seq, text in enumerate(TEXTS):
        row = run(
            "INSERT INTO chunks (collection_id, document_id, id, seq, text, page, heading_path,"
            " span_start, span_end, tokens, text_hash, vector)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING rowid",
            (
                CID,
                DID,
                chunk_id(DID, seq),
                seq,
                text,
                1,
                json.dumps(HEADING, ensure_ascii=False),
                0,
                len(text),
                12,
                text.encode().ljust(32, b"\0")[:32],
                struct.pack("4f", 0.5, 0.5, 0.5, 0.5),
            ),
        ).fetchone()
        rowid, lexical = row[0], _lexical(text)
        if mark == "?":
            run(f"INSERT INTO fts_{CID} (rowid, tokens) VALUES (?,?)", (rowid, lexical))
        else:
            terms, length = tsvector_literal(lexical)
            run(
                "INSERT INTO lexical_entries VALUES (?,?,?,?::tsvector,?)",
                (rowid, CID, DID, terms, length),
            )
            for term in lexemes(lexical):
                run(
                    "INSERT INTO lexical_terms VALUES (?,?,0,1) ON CONFLICT (collection_id,"
                    " term, shard) DO UPDATE SET chunks = lexical_terms.chunks + 1",
                    (CID, term),
                )
    run(
        "INSERT INTO jobs (id, collection_id, document_id, state, stage, pages_done, pages_total,"
        " chunks_done, chunks_total, created_at, updated_at, started_at, finished_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (JOB, CID, DID, "done", "embed", 1, 1, 2, 2, NOW, NOW, NOW, NOW),
    )
    run("INSERT INTO conversations VALUES (?,?,?,?,?)", (CONVERSATION, CID, "备份", NOW, NOW))
    run(
        "INSERT INTO messages (conversation_id, role, content, citations, created_at)"
        " VALUES (?,?,?,?,?)",
        (CONVERSATION, "user", "备份保留多久？", "[]", NOW),
    )


@pytest.fixture
def opened(settings: Settings) -> Iterator[list[Catalog]]:
    """Catalogs the test opens, closed after it."""
    catalogs: list[Catalog] = []
    yield catalogs
    for catalog in catalogs:
        catalog.close()


def _open(settings: Settings, opened: list[Catalog]) -> Catalog:
    catalog = open_catalog(settings)
    opened.append(catalog)
    return catalog


def _shape(url: URL) -> dict[str, dict[str, Any]]:
    """Every table as the database describes it: columns, keys, indexes and options."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        found = inspect(engine)
        names = [
            t
            for t in found.get_table_names()
            if t != "alembic_version" and not t.startswith("fts_")
        ]
        return {t: _table_shape(found, t) for t in sorted(names)}
    finally:
        engine.dispose()


def _table_shape(found: Inspector, table: str) -> dict[str, Any]:
    key = found.get_pk_constraint(table)["constrained_columns"]
    return {
        # Main's SQLite tables left their primary keys nullable, which only SQLite allows (and
        # not for a rowid); the declaration says NOT NULL, and no row ever held a NULL key.
        "columns": [
            (
                c["name"],
                str(c["type"]),
                c["nullable"] and c["name"] not in key,
                c.get("default"),
                c.get("identity"),
            )
            for c in found.get_columns(table)
        ],
        "primary key": key,
        "unique": sorted(u["column_names"] for u in found.get_unique_constraints(table)),
        "indexes": sorted(
            (
                i["name"],
                i["column_names"],
                i["unique"],
                {k: str(v) for k, v in i.get("dialect_options", {}).items()},
            )
            for i in found.get_indexes(table)
        ),
        "options": found.get_table_options(table),
    }


def test_a_catalog_made_by_main_is_upgraded_in_place_with_every_row(
    settings: Settings, opened: list[Catalog]
) -> None:
    _make_main_catalog(settings)
    assert schema_version(_url(settings)) is None

    catalog = _open(settings, opened)

    assert schema_version(_url(settings)) == head()
    assert catalog.get_collection("kb").id == CID
    document = catalog.get_document(CID, DID)
    assert (document.status, document.chunks, document.size) == (DocumentStatus.READY, 2, 120)
    chunks = catalog.document_chunks(CID, DID)
    assert [c.text for c in chunks] == list(TEXTS) and chunks[0].heading_path == HEADING
    assert catalog.lexical_gaps(CID) == ([], [])
    hits = catalog.lexical_search(CID, lexical_tokens("备份保留"), 5)
    assert hits[0].chunk.text == TEXTS[0]
    hits = catalog.lexical_search(CID, lexical_tokens("nightly backups"), 5)
    assert hits[0].chunk.text == TEXTS[1]
    job = catalog.get_job(JOB)
    assert (job.state, job.stage, job.chunks_done) == (JobState.DONE, JobStage.EMBED, 2)
    conversation = catalog.conversations().get(CID, CONVERSATION)
    assert [m.content for m in conversation.messages] == ["备份保留多久？"]
    assert catalog.document_references(DID) == 1

    [(_, job, created)] = catalog.add_documents(
        [NewDocument(CID, NEW_DID, "restore.txt", "text/plain", 10)]
    )
    assert created
    [claimed] = catalog.claim_jobs(JobStage.PARSE, "w", 60, 3, max_jobs=1)
    text = "Restore a backup by copying the folder back."
    draft = ChunkDraft(0, text, None, HEADING, 0, len(text), 9)
    catalog.store_parsed(claimed.id, "w", 1, [draft], [_lexical(text)], [b"\1" * 32])
    hits = catalog.lexical_search(CID, lexical_tokens("restore folder"), 5)
    assert hits[0].chunk.document_id == NEW_DID


def test_a_collection_made_by_main_keeps_its_space_and_switches_once_every_chunk_is_reembedded(
    settings: Settings, opened: list[Catalog]
) -> None:
    _make_main_catalog(settings)
    catalog = _open(settings, opened)
    collection = catalog.get_collection("kb")
    assert (collection.embedding_model, collection.vector_space, collection.space) == (
        "model",
        None,
        CID,
    )
    catalog.start_reembed(CID, "other", "space2")
    claimed = catalog.claim_reembed("w", 60)
    assert claimed is not None and (claimed.chunks_done, claimed.chunks_total) == (0, 2)
    assert catalog.claim_reembed("w2", 60) is None
    first, second = catalog.chunks_to_reembed(CID, 10)
    catalog.store_next_vectors(CID, "w", 60, [(first.rowid, b"\0" * 8)])
    assert [c.id for c in catalog.chunks_to_reembed(CID, 10)] == [second.id]

    assert not catalog.finish_reembed(CID, "w")
    assert catalog.get_collection("kb").embedding_model == "model"
    catalog.store_next_vectors(CID, "w", 60, [(second.rowid, b"\1" * 8)])
    with pytest.raises(Conflict):
        catalog.finish_reembed(CID, "w2")
    assert catalog.finish_reembed(CID, "w")

    after = catalog.get_collection("kb")
    assert (after.embedding_model, after.space) == ("other", "space2")
    assert [v for _, v, _, _ in catalog.document_vectors(CID, DID)] == [b"\0" * 8, b"\1" * 8]
    assert catalog.get_reembed(CID) is None


def test_a_catalog_made_by_main_ends_with_the_tables_of_a_fresh_one(
    settings: Settings, other_settings: Settings, opened: list[Catalog]
) -> None:
    _make_main_catalog(settings)
    _open(settings, opened)
    _open(other_settings, opened)
    upgraded, fresh = _shape(_url(settings)), _shape(_url(other_settings))
    assert upgraded == fresh


def test_a_fresh_catalog_is_made_at_head_and_opening_it_again_changes_nothing(
    settings: Settings, opened: list[Catalog]
) -> None:
    _open(settings, opened)
    made = _shape(_url(settings))
    assert schema_version(_url(settings)) == head()
    _open(settings, opened)
    assert _shape(_url(settings)) == made
    assert schema_version(_url(settings)) == head()
    assert set(made) == {t.name for t in tables_for(_url(settings).get_backend_name())}


def test_head_names_the_newest_revision() -> None:
    assert head() == HEAD


def test_opening_a_catalog_at_head_does_not_load_the_migration_tools(
    settings: Settings, opened: list[Catalog]
) -> None:
    _open(settings, opened)
    # A fresh interpreter, as a parse process is: Alembic and SQLAlchemy would cost it half a
    # second of imports.
    probe = (
        "import sys\n"
        "from core.catalog import open_catalog\n"
        "from core.settings import Settings\n"
        f"open_catalog(Settings(_env_file=None, data_dir={str(settings.data_dir)!r},"
        f" database_url={settings.database_url!r})).close()\n"
        "print(sorted(m for m in ('alembic', 'sqlalchemy') if m in sys.modules))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "[]"


def test_catalogs_opened_at_once_on_a_fresh_database_all_open_it(
    settings: Settings, opened: list[Catalog]
) -> None:
    # Threads, each with connections of its own, as separate processes would have.
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_one() -> None:
        start.wait()
        try:
            catalog = open_catalog(settings)
        except BaseException as exc:
            errors.append(exc)
        else:
            opened.append(catalog)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(opened) == 4
    assert schema_version(_url(settings)) == head()
    opened[0].create_collection("kb", "model", 200, 20)
    assert [c.name for c in opened[3].list_collections()] == ["kb"]


def test_the_revisions_make_exactly_the_declared_tables(
    settings: Settings, other_settings: Settings, opened: list[Catalog]
) -> None:
    _open(settings, opened)
    declared = create_engine(_url(other_settings), poolclass=NullPool)
    try:
        metadata.create_all(declared, tables=tables_for(declared.dialect.name))
    finally:
        declared.dispose()
    assert _shape(_url(settings)) == _shape(_url(other_settings))


def test_sqlite_chunks_and_messages_are_keyed_by_the_table_rowid_fts5_rows_join_on(
    tmp_path: Path, opened: list[Catalog]
) -> None:
    settings = make_settings(tmp_path / "data")
    _open(settings, opened)
    with sqlite3.connect(sqlite_path(settings)) as db:
        db.execute(
            "INSERT INTO chunks (rowid, collection_id, document_id, id, seq, text,"
            " heading_path, span_start, span_end, tokens, text_hash)"
            " VALUES (88, 'c', 'd', 'i', 0, 't', '[]', 0, 1, 1, x'00')"
        )
        db.execute(
            "INSERT INTO messages (rowid, conversation_id, role, content, created_at)"
            " VALUES (77, 'c', 'user', 'hi', 0)"
        )
        # `oid` is the table's own rowid: it equals the column only where the column is it.
        assert db.execute("SELECT oid FROM chunks WHERE rowid = 88").fetchone() == (88,)
        assert db.execute("SELECT oid FROM messages WHERE rowid = 77").fetchone() == (77,)
    db.close()
