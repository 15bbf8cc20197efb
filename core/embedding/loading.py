"""Models made on first use, and one lock around every load of a model in this process and
around the export of the query model. While a model loads, transformers sets torch's default
dtype for the whole process and puts back the one it found: two loads at once (the service's
bfloat16 embedder and a float32 reranker, or two tests' models) can leave bfloat16 as the
default for good, and an export traced under it came out partly in bfloat16, which ONNX Runtime
cannot run ("no implementation for Where(16)", seen once in a full test run)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

MODEL_LOADING = threading.Lock()


class LazyModel(Generic[T]):
    """A model made on first use, once, whichever thread asks first; made under MODEL_LOADING."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._model: T | None = None

    def get(self) -> T:
        with self._lock:
            if self._model is None:
                with MODEL_LOADING:
                    self._model = self._make()
            return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None
