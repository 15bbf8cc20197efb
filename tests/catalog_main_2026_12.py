"""The catalog exactly as the main branch of December 2026 made it (commit 302badb), before
schema revisions were recorded: its DDL, copied verbatim from core/catalog/schema.py and
core/catalog/postgres_schema.py of that commit, for the migration tests. Never edit it to follow
the current schema."""

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    embedding_model TEXT NOT NULL,
    chunk_tokens INTEGER NOT NULL,
    chunk_overlap_tokens INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    collection_id TEXT NOT NULL,
    id TEXT NOT NULL,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (collection_id, id)
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    collection_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    page INTEGER,
    heading_path TEXT NOT NULL,
    span_start INTEGER NOT NULL,
    span_end INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    text_hash BLOB NOT NULL,
    vector BLOB,
    UNIQUE (collection_id, id)
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks (collection_id, document_id, seq);
CREATE INDEX IF NOT EXISTS chunks_by_text ON chunks (text_hash) WHERE vector IS NOT NULL;
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    state TEXT NOT NULL,
    stage TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_until REAL,
    worker TEXT,
    pages_done INTEGER NOT NULL DEFAULT 0,
    pages_total INTEGER NOT NULL DEFAULT 0,
    chunks_done INTEGER NOT NULL DEFAULT 0,
    chunks_total INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_to_claim ON jobs (stage, state, created_at);
CREATE INDEX IF NOT EXISTS jobs_by_document ON jobs (collection_id, document_id);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_collection
    ON conversations (collection_id, updated_at);
CREATE TABLE IF NOT EXISTS messages (
    rowid INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    citations TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, rowid);
"""

# A collection's FTS5 table, made with the collection.
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS fts_{collection_id} "
    "USING fts5(tokens, tokenize='unicode61 remove_diacritics 2')"
)

POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    embedding_model TEXT NOT NULL,
    chunk_tokens INTEGER NOT NULL,
    chunk_overlap_tokens INTEGER NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    collection_id TEXT NOT NULL,
    id TEXT NOT NULL,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (collection_id, id)
);
CREATE INDEX IF NOT EXISTS documents_by_id ON documents (id);
CREATE TABLE IF NOT EXISTS chunks (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    page INTEGER,
    heading_path TEXT NOT NULL,
    span_start INTEGER NOT NULL,
    span_end INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    text_hash BYTEA NOT NULL,
    vector BYTEA,
    UNIQUE (collection_id, id)
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks (collection_id, document_id, seq);
CREATE INDEX IF NOT EXISTS chunks_by_text ON chunks (text_hash) WHERE vector IS NOT NULL;
-- One row per indexed chunk (same rowid); short enough to stay in the table's own pages.
CREATE TABLE IF NOT EXISTS lexical_entries (
    rowid BIGINT PRIMARY KEY,
    collection_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    terms TSVECTOR NOT NULL,
    len INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS lexical_entries_by_document
    ON lexical_entries (collection_id, document_id);
CREATE INDEX IF NOT EXISTS lexical_entries_terms ON lexical_entries USING GIN (terms);
-- A term's count is the sum of its rows: each connection adds to the row of its own shard, so
-- concurrent writers rarely wait for one another on a common term's row. Updated in place,
-- hence the room left in each page.
CREATE TABLE IF NOT EXISTS lexical_terms (
    collection_id TEXT COLLATE "C" NOT NULL,
    term TEXT COLLATE "C" NOT NULL,
    shard SMALLINT NOT NULL,
    chunks BIGINT NOT NULL,
    PRIMARY KEY (collection_id, term, shard)
) WITH (fillfactor = 70);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    state TEXT NOT NULL,
    stage TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_until DOUBLE PRECISION,
    worker TEXT,
    pages_done INTEGER NOT NULL DEFAULT 0,
    pages_total INTEGER NOT NULL DEFAULT 0,
    chunks_done INTEGER NOT NULL DEFAULT 0,
    chunks_total INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    started_at DOUBLE PRECISION,
    finished_at DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS jobs_to_claim ON jobs (stage, state, created_at);
CREATE INDEX IF NOT EXISTS jobs_by_document ON jobs (collection_id, document_id);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_collection
    ON conversations (collection_id, updated_at);
CREATE TABLE IF NOT EXISTS messages (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    citations TEXT NOT NULL DEFAULT '[]',
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, rowid);
"""
