"""The PostgreSQL catalog's tables. The lexical index is a narrow table beside the chunks
(`lexical_entries`: a chunk's tsvector and length, GIN-indexed), written and removed in the
same transactions as the chunk rows, so that a search reads short rows instead of the wide chunk
rows (text, vector); `lexical_terms` counts the chunks holding each term of a collection (its
document frequency, for picking a query's rarest terms and for BM25's idf)."""

# Any constant works; it only has to be the same in every process that opens the catalog.
SCHEMA_LOCK = 7_302_114_563_001

SCHEMA = """
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

# A catalog made before lexical_entries kept its tsvectors in chunk columns: they move over
# once (the column's GIN index goes with it).
OLD_LEXICAL_COLUMN = """
SELECT 1 FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = 'chunks' AND column_name = 'lexical'
"""
# The full-text index is built after the copy, at once, which is much faster than row by row.
MOVE_LEXICAL = """
SET LOCAL maintenance_work_mem = '256MB';
DROP INDEX lexical_entries_terms;
INSERT INTO lexical_entries (rowid, collection_id, document_id, terms, len)
SELECT rowid, collection_id, document_id, lexical, lexical_len FROM chunks
WHERE lexical IS NOT NULL;
CREATE INDEX lexical_entries_terms ON lexical_entries USING GIN (terms);
ALTER TABLE chunks DROP COLUMN lexical, DROP COLUMN lexical_len;
"""

# The term counts of a catalog made before `lexical_terms` existed, counted from its entries
# once, when the table is created.
BACKFILL_TERMS = """
INSERT INTO lexical_terms (collection_id, term, shard, chunks)
SELECT e.collection_id, t.term, 0, count(*)
FROM lexical_entries e CROSS JOIN LATERAL unnest(tsvector_to_array(e.terms)) AS t(term)
GROUP BY e.collection_id, t.term
"""
