"""SqlCatalog: the Catalog protocol in SQL that SQLite and PostgreSQL both run, composed of one
mixin per area over the shared base (base.py); a backend adds its connections, locks and
lexical index."""

from __future__ import annotations

from core.catalog.conversations import Conversations
from core.catalog.evaluations import Evaluations
from core.catalog.sql.chunks import SqlChunks
from core.catalog.sql.collections import SqlCollections
from core.catalog.sql.documents import SqlDocuments
from core.catalog.sql.jobs import SqlJobs
from core.catalog.sql.keys import SqlKeys
from core.catalog.sql.reembeds import SqlReembeds


class SqlCatalog(SqlCollections, SqlDocuments, SqlJobs, SqlChunks, SqlKeys, SqlReembeds):
    """Implements the Catalog protocol but for connections and the lexical index: a backend
    adds lexical_search, scored_terms, passage_chunks, lexical_gaps, repair_lexical and
    lexical_rows."""

    def conversations(self) -> Conversations:
        from core.catalog.conversations import SqlConversations

        return SqlConversations(self)

    def evaluations(self) -> Evaluations:
        from core.catalog.evaluations import SqlEvaluations

        return SqlEvaluations(self)
