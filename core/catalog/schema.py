"""The SQLite catalog's tables; the lexical index is one FTS5 table per collection."""

SCHEMA = """
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


def fts_table(collection_id: str) -> str:
    # Collection ids are generated hex, never user text, so they are safe in an identifier.
    if not collection_id.isalnum():
        raise ValueError(f"bad collection id {collection_id!r}")
    return f"fts_{collection_id}"


def fts_create(collection_id: str) -> str:
    return (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts_table(collection_id)} "
        "USING fts5(tokens, tokenize='unicode61 remove_diacritics 2')"
    )
