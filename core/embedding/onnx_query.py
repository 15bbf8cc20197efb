"""Query vectors from an ONNX Runtime copy of the embedding model, exported once and cached.

A question is one short sequence, and torch spends most of its forward pass dispatching small
operations: the default model took 15-20 ms per question in torch and 6-8 ms in ONNX Runtime
here, for the same float32 vector (cosine 0.9999999). ONNX Runtime also releases the GIL for the
whole pass, so the lexical search runs beside it, and a question no longer waits for a batch of
documents on the model thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Tokenizer

from core.embedding.loading import MODEL_LOADING

if TYPE_CHECKING:
    import onnxruntime
    from sentence_transformers import SentenceTransformer

log = logging.getLogger("zhiku.embedder")

# Bump when the exported graph changes, so older cached files are not reused.
_FORMAT = "1"
# Which tokenizer output each model input is.
_TOKENIZER_FIELDS = {
    "input_ids": "ids",
    "attention_mask": "attention_mask",
    "token_type_ids": "type_ids",
}
# The export is checked on texts of every kind a question can be: English, Chinese, mixed case,
# one character, and one past the sequence limit (truncation must match the model's).
_PROBES = (
    "How often are the backups copied to the second data centre?",
    "知库把文档切成小块，先建立词法索引，再计算向量。",
    "Which RFC defines HTTP/2 Server Push, and WHY was it Removed from Chrome?",
    "?",
    " ".join(["The quick brown fox jumps over the lazy dog near the river bank."] * 40),
)
_MIN_COSINE = 0.9999


class OnnxExportError(Exception):
    """The model could not be exported or its export does not match it."""


class OnnxQueryEncoder:
    """Encodes one text at a time into a unit float32 vector; safe to call from any thread."""

    def __init__(self, model_file: Path, tokenizer: Tokenizer) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # Spinning threads would keep a core busy after each pass, the core the lexical search
        # runs on meanwhile.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session: onnxruntime.InferenceSession = onnxruntime.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tokenizer
        self._input_names = [i.name for i in self._session.get_inputs()]

    def encode(self, text: str) -> np.ndarray:
        encoding = self._tokenizer.encode(text)
        feed = {
            name: np.array([getattr(encoding, _TOKENIZER_FIELDS[name])], dtype=np.int64)
            for name in self._input_names
        }
        vector = np.asarray(self._session.run(None, feed)[0][0], dtype=np.float32)
        unit: np.ndarray = vector / max(float(np.linalg.norm(vector)), 1e-12)
        return unit


def query_tokenizer(model_path: Path, max_length: int) -> Tokenizer:
    """The model's tokenizer cut at its sequence limit and never padded: one text per call."""
    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.enable_truncation(max_length)
    tokenizer.no_padding()
    return tokenizer


def model_fingerprint(model_path: Path) -> str:
    """Changes when any file of the model, or the exporter's version, does."""
    import torch

    digest = hashlib.sha256(f"{_FORMAT}|{torch.__version__}".encode())
    for file in sorted(p for p in model_path.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"|{file.relative_to(model_path)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def open_query_encoder(model_path: Path, max_length: int, cache_dir: Path) -> OnnxQueryEncoder:
    """The cached export of the model at `model_path`, made now if missing. Raises
    OnnxExportError when the model cannot be exported or its export disagrees with torch."""
    tokenizer = query_tokenizer(model_path, max_length)
    model_file = cache_dir / f"{model_path.name}-{model_fingerprint(model_path)}.onnx"
    if model_file.exists():
        return OnnxQueryEncoder(model_file, tokenizer)
    return _export(model_path, tokenizer, model_file)


def _export(model_path: Path, tokenizer: Tokenizer, model_file: Path) -> OnnxQueryEncoder:
    """The export, checked, then kept at `model_file`; its session has read the file already,
    so it is the one returned."""
    with MODEL_LOADING:
        return _export_alone(model_path, tokenizer, model_file)


def _export_alone(model_path: Path, tokenizer: Tokenizer, model_file: Path) -> OnnxQueryEncoder:
    import torch
    from sentence_transformers import SentenceTransformer

    class SentenceEmbedding(torch.nn.Module):
        """The model's whole pipeline (encoder, pooling, any dense and normalising layers)
        with positional tensor inputs, as the exporter wants them."""

        def __init__(self, model: SentenceTransformer, input_names: list[str]) -> None:
            super().__init__()
            self.model = model
            self.input_names = input_names

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            embedding: torch.Tensor = self.model(dict(zip(self.input_names, tensors, strict=True)))[
                "sentence_embedding"
            ]
            return embedding

    # float32 whatever the service's own precision: ONNX Runtime has no fast bfloat16 on CPUs.
    model = SentenceTransformer(
        str(model_path), device="cpu", model_kwargs={"dtype": torch.float32}
    ).eval()
    features = model.preprocess([_PROBES[0]])
    input_names = [k for k, v in features.items() if isinstance(v, torch.Tensor)]
    unknown = set(input_names) - set(_TOKENIZER_FIELDS)
    if unknown:
        raise OnnxExportError(f"the model takes inputs the tokenizer does not give: {unknown}")
    model_file.parent.mkdir(parents=True, exist_ok=True)
    # Another process may export the same model meanwhile: each writes a file of its own, then
    # renames it into place.
    partial = model_file.with_name(f".{model_file.name}.{os.getpid()}")
    with warnings.catch_warnings():
        # The tracer notes each branch it fixes to the example's path; _verify checks the
        # exported graph on texts of other lengths.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            SentenceEmbedding(model, input_names),
            tuple(features[name] for name in input_names),
            str(partial),
            input_names=input_names,
            output_names=["sentence_embedding"],
            dynamic_axes={name: {1: "tokens"} for name in input_names},
            opset_version=17,
            dynamo=False,
        )
    try:
        encoder = OnnxQueryEncoder(partial, tokenizer)
        _verify(model, encoder)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(model_file)
    log.info("embedding model exported for queries: %s", model_file)
    return encoder


def _verify(model: SentenceTransformer, exported: OnnxQueryEncoder) -> None:
    expected = model.encode(
        list(_PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    for probe, want in zip(_PROBES, expected, strict=True):
        cosine = float(exported.encode(probe) @ want)
        if cosine < _MIN_COSINE:
            raise OnnxExportError(
                f"the export's vector of {probe[:40]!r} is at cosine {cosine:.6f} of the model's"
            )
