"""What a vector store provides. The catalog keeps every vector too, so a store is a copy
that `zhiku check` can rebuild."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from core.settings import Settings


@dataclass(frozen=True)
class VectorMeta:
    document_id: str
    page: int | None
    seq: int


@dataclass(frozen=True)
class VectorHit:
    id: str
    similarity: float


class VectorStore(Protocol):
    """Every method's `collection_id` names a vector space: a collection's id, or a space a
    re-embedding fills beside it (core.stores.space_for); spaces are independent."""

    @staticmethod
    def single_process(settings: Settings) -> bool:
        """Whether only one process at a time may open the store these settings pick (an
        embedded store in the data directory): the data directory then needs one owner
        (core/ownership.py). Reads the settings only; opens nothing."""
        ...

    def ensure_collection(self, collection_id: str, embedding_model: str) -> None:
        """Create the collection if missing. Raises EmbeddingModelMismatch when it exists with
        vectors of another model, BackendUnavailable when the store cannot be reached."""
        ...

    def upsert(
        self,
        collection_id: str,
        ids: Sequence[str],
        vectors: np.ndarray,
        metas: Sequence[VectorMeta],
    ) -> None:
        """Insert or replace by id (idempotent). Raises BackendUnavailable."""
        ...

    def delete_document(self, collection_id: str, document_id: str) -> None:
        """Remove every vector of a document; a no-op when there is none."""
        ...

    def delete_ids(self, collection_id: str, ids: Sequence[str]) -> None: ...

    def query(
        self,
        collection_id: str,
        vector: np.ndarray,
        limit: int,
        document_ids: Sequence[str] | None = None,
    ) -> list[VectorHit]:
        """Nearest vectors by cosine similarity, best first, only of `document_ids` when
        given; [] for a missing collection."""
        ...

    def ids(self, collection_id: str) -> set[str]:
        """Every id in the collection, for consistency checks."""
        ...

    def drop_collection(self, collection_id: str) -> None: ...

    def ping(self) -> None:
        """Raises BackendUnavailable when the store cannot be reached."""
        ...

    def close(self) -> None: ...
