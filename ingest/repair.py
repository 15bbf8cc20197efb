"""`zhiku check`: find and repair disagreement between the catalog (the truth), the lexical
index and the vector store, which is a copy rebuilt from the vectors kept in the catalog."""

from __future__ import annotations

from dataclasses import dataclass

from core.catalog import Catalog
from core.catalog.records import Collection, DocumentStatus
from core.stores.protocol import VectorStore
from ingest.parse import lexical_text
from ingest.pipeline import publish


@dataclass(frozen=True)
class CheckReport:
    collection: str
    chunks: int
    vectors_restored: int
    vectors_removed: int
    lexical_restored: int
    lexical_removed: int

    @property
    def consistent(self) -> bool:
        return not (
            self.vectors_restored
            or self.vectors_removed
            or self.lexical_restored
            or self.lexical_removed
        )


def check_collection(catalog: Catalog, store: VectorStore, collection: Collection) -> CheckReport:
    """Only for the owner of the data directory: a worker publishing at the same time would
    look like disagreement."""
    missing_lexical, orphan_lexical = catalog.lexical_gaps(collection.id)
    catalog.repair_lexical(
        collection.id,
        [(c.rowid, lexical_text(c.heading_path, c.text)) for c in missing_lexical],
        orphan_lexical,
    )
    ready = catalog.live_chunk_ids(collection.id, [DocumentStatus.READY])
    stored = store.ids(collection.space)
    orphans = sorted(stored - set(ready))
    store.delete_ids(collection.space, orphans)
    lacking = sorted({ready[i] for i in set(ready) - stored})
    restored = publish(
        catalog, store, collection.space, collection.id, lacking, collection.embedding_model
    )
    return CheckReport(
        collection=collection.name,
        chunks=len(catalog.live_chunk_ids(collection.id, list(DocumentStatus))),
        vectors_restored=restored,
        vectors_removed=len(orphans),
        lexical_restored=len(missing_lexical),
        lexical_removed=len(orphan_lexical),
    )
