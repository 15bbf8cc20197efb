"""The catalog's tables, declared once for SQLite and PostgreSQL; the migrations bring a
database to them. SQLite's lexical index is one FTS5 table per collection, made with the
collection (sqlite_fts.py); PostgreSQL's is two tables of its own (`lexical_entries`: a chunk's
tsvector and length, GIN-indexed, narrow so a search reads short rows instead of the wide chunk
rows; `lexical_terms`: the chunks holding each term of a collection, for picking a query's
rarest terms and for BM25's idf)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import BYTEA, DOUBLE_PRECISION, TSVECTOR
from sqlalchemy.dialects.sqlite import BLOB, REAL
from sqlalchemy.types import TypeEngine

# Unix seconds: SQLite's REAL is already 8 bytes.
SECONDS: TypeEngine[float] = REAL().with_variant(DOUBLE_PRECISION(), "postgresql")
BYTES = BLOB().with_variant(BYTEA(), "postgresql")
# SQLite's `INTEGER PRIMARY KEY` is the table's rowid, which the FTS5 rows are joined on;
# PostgreSQL numbers the rows itself.
ROWID = BigInteger().with_variant(Integer(), "sqlite")
POSTGRESQL_ONLY = {"dialects": {"postgresql"}}

metadata = MetaData()


def _rowid() -> Column[int]:
    return Column("rowid", ROWID, Identity(always=True), primary_key=True)


collections = Table(
    "collections",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("embedding_model", Text, nullable=False),
    Column("chunk_tokens", Integer, nullable=False),
    Column("chunk_overlap_tokens", Integer, nullable=False),
    Column("created_at", SECONDS, nullable=False),
    # The vector space its queries read; NULL: the one named by its id (every collection made
    # before revision 0004). A re-embedding moves it to a space of the new model.
    Column("vector_space", Text),
    # JSON: what a user changed for this knowledge base (top_k, answer backend, abstention
    # threshold); NULL: the service's settings.
    Column("settings", Text),
)

documents = Table(
    "documents",
    metadata,
    Column("collection_id", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("media_type", Text, nullable=False),
    Column("size", BigInteger().with_variant(Integer(), "sqlite"), nullable=False),
    Column("status", Text, nullable=False),
    Column("error", Text),
    Column("pages", Integer, nullable=False, server_default=text("0")),
    Column("chunks", Integer, nullable=False, server_default=text("0")),
    Column("created_at", SECONDS, nullable=False),
    Column("updated_at", SECONDS, nullable=False),
    # The failure's stable code and its parameters (JSON), for the page to translate.
    Column("error_code", Text),
    Column("error_params", Text),
    PrimaryKeyConstraint("collection_id", "id"),
    # For document_references, which looks a document up in every collection.
    Index("documents_by_id", "id"),
)

chunks = Table(
    "chunks",
    metadata,
    _rowid(),
    Column("collection_id", Text, nullable=False),
    Column("document_id", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("page", Integer),
    Column("heading_path", Text, nullable=False),
    Column("span_start", Integer, nullable=False),
    Column("span_end", Integer, nullable=False),
    Column("tokens", Integer, nullable=False),
    Column("text_hash", BYTES, nullable=False),
    Column("vector", BYTES),
    # Bits of ChunkFlag (core/types.py): what a reader of the chunk should know about its text.
    Column("flags", Integer, nullable=False, server_default=text("0")),
    # The vector of the model the collection is being re-embedded with (table `reembeds`),
    # moved into `vector` when every chunk has one.
    Column("next_vector", BYTES),
    UniqueConstraint("collection_id", "id"),
    Index("chunks_by_document", "collection_id", "document_id", "seq"),
    Index(
        "chunks_by_text",
        "text_hash",
        sqlite_where=text("vector IS NOT NULL"),
        postgresql_where=text("vector IS NOT NULL"),
    ),
)

# One row per indexed chunk (same rowid); short enough to stay in the table's own pages.
lexical_entries = Table(
    "lexical_entries",
    metadata,
    Column("rowid", BigInteger, primary_key=True, autoincrement=False),
    Column("collection_id", Text, nullable=False),
    Column("document_id", Text, nullable=False),
    Column("terms", TSVECTOR, nullable=False),
    Column("len", Integer, nullable=False),
    Index("lexical_entries_by_document", "collection_id", "document_id"),
    Index("lexical_entries_terms", "terms", postgresql_using="gin"),
    info=POSTGRESQL_ONLY,
)

# A term's count is the sum of its rows: each connection adds to the row of its own shard, so
# concurrent writers rarely wait for one another on a common term's row. Updated in place,
# hence the room left in each page.
lexical_terms = Table(
    "lexical_terms",
    metadata,
    Column("collection_id", Text(collation="C"), nullable=False),
    Column("term", Text(collation="C"), nullable=False),
    Column("shard", SmallInteger, nullable=False),
    Column("chunks", BigInteger, nullable=False),
    PrimaryKeyConstraint("collection_id", "term", "shard"),
    postgresql_with={"fillfactor": 70},
    info=POSTGRESQL_ONLY,
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("collection_id", Text, nullable=False),
    Column("document_id", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("stage", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("lease_until", SECONDS),
    Column("worker", Text),
    Column("pages_done", Integer, nullable=False, server_default=text("0")),
    Column("pages_total", Integer, nullable=False, server_default=text("0")),
    Column("chunks_done", Integer, nullable=False, server_default=text("0")),
    Column("chunks_total", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
    Column("created_at", SECONDS, nullable=False),
    Column("updated_at", SECONDS, nullable=False),
    Column("started_at", SECONDS),
    Column("finished_at", SECONDS),
    # `attempts` counts claims; `failures` only the attempts that failed by the document's
    # fault (a parse that crashed or hit a limit), not those cut short by a stopping process.
    Column("failures", Integer, nullable=False, server_default=text("0")),
    # The failure's stable code and its parameters (JSON), for the page to translate.
    Column("error_code", Text),
    Column("error_params", Text),
    Index("jobs_to_claim", "stage", "state", "created_at"),
    Index("jobs_by_document", "collection_id", "document_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("collection_id", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("created_at", SECONDS, nullable=False),
    Column("updated_at", SECONDS, nullable=False),
    # JSON list of the documents the conversation is limited to; NULL: all of them.
    Column("document_ids", Text),
    Index("conversations_by_collection", "collection_id", "updated_at"),
)

messages = Table(
    "messages",
    metadata,
    _rowid(),
    Column("conversation_id", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("citations", Text, nullable=False, server_default="[]"),
    Column("created_at", SECONDS, nullable=False),
    Index("messages_by_conversation", "conversation_id", "rowid"),
)

# Keys made by `zhiku keys create` or the admin API: only a hash of the secret is kept.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False, server_default=""),
    Column("secret_hash", Text, nullable=False, unique=True),
    # JSON: {"read": [collection names or "*"], "write": [...], "admin": bool}.
    Column("scopes", Text, nullable=False),
    Column("created_at", SECONDS, nullable=False),
    Column("last_used_at", SECONDS),
    Column("revoked_at", SECONDS),
)


# A re-embedding under way: one per collection, claimed by one worker at a time under a lease.
reembeds = Table(
    "reembeds",
    metadata,
    Column("collection_id", Text, primary_key=True),
    Column("model", Text, nullable=False),
    Column("space", Text, nullable=False),
    Column("worker", Text),
    Column("lease_until", SECONDS),
    Column("created_at", SECONDS, nullable=False),
    Column("updated_at", SECONDS, nullable=False),
)


# A golden set run against a collection (core/catalog/evaluations.py): its progress, and its
# report (JSON) once done. A running one whose `updated_at` stops moving was interrupted.
evaluations = Table(
    "evaluations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("collection_id", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("golden_file", Text, nullable=False),
    Column("top_k", Integer, nullable=False),
    Column("questions_done", Integer, nullable=False, server_default=text("0")),
    Column("questions_total", Integer, nullable=False, server_default=text("0")),
    # The failure's English text, stable code and parameters (JSON), for the page to translate.
    Column("error", Text),
    Column("error_code", Text),
    Column("error_params", Text),
    Column("report", Text),
    Column("created_at", SECONDS, nullable=False),
    Column("updated_at", SECONDS, nullable=False),
    Column("finished_at", SECONDS),
    Index("evaluations_by_collection", "collection_id", "created_at"),
)


def tables_for(dialect: str) -> list[Table]:
    """The tables a database of this dialect holds, in the order they are created."""
    return [t for t in metadata.sorted_tables if dialect in t.info.get("dialects", {dialect})]
