"""An ONNX Runtime copy of the e5 encoder for questions, exported once from the torch module and
kept under model_cache_dir. A question is one short window, and torch spends most of its pass
dispatching small operations; ONNX Runtime also releases the GIL for the whole pass, so a
question is embedded on the caller's thread beside the passages on the model thread."""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnxruntime

    from core.embedding.e5_model import E5Encoder

log = logging.getLogger("zhiku.embedder")

# Bump when the exported graph changes, so older cached files are not reused.
_FORMAT = "1"
_MIN_COSINE = 0.9999
# Checked on windows of a question's length and of a passage's longest (512 tokens).
_PROBE_LENGTHS = (3, 17, 512)


class OnnxExportError(Exception):
    """The encoder could not be exported or its export does not match it."""


class OnnxWindowEncoder:
    """words [1, L, H] float32 -> the window's mean hidden state [H]; safe from any thread."""

    def __init__(self, model_file: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # Spinning threads would keep a core busy after each pass, the core the lexical search
        # runs on meanwhile.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session: onnxruntime.InferenceSession = onnxruntime.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )

    def pooled(self, words: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = self._session.run(None, {"words": words, "mask": mask})[0]
        return np.asarray(out, dtype=np.float32)


def open_window_encoder(encoder: E5Encoder, weights: Path, cache_dir: Path) -> OnnxWindowEncoder:
    """The cached export of `encoder` (float32, read from `weights`), made now if missing.
    Raises OnnxExportError when it cannot be exported or its export disagrees with torch."""
    model_file = cache_dir / f"multilingual-e5-small-{_fingerprint(weights)}.onnx"
    if model_file.exists():
        return OnnxWindowEncoder(model_file)
    import torch

    model_file.parent.mkdir(parents=True, exist_ok=True)
    # Another process may export the same model meanwhile: each writes a file of its own, then
    # renames it into place.
    partial = model_file.with_name(f".{model_file.name}.{os.getpid()}")
    hidden = int(encoder.position.shape[1])
    example = (torch.zeros(1, 8, hidden), torch.ones(1, 8))
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes; _verify checks others
        torch.onnx.export(
            encoder,
            example,
            str(partial),
            input_names=["words", "mask"],
            output_names=["pooled"],
            dynamic_axes={
                "words": {0: "windows", 1: "tokens"},
                "mask": {0: "windows", 1: "tokens"},
            },
            opset_version=17,
            dynamo=False,
        )
    try:
        exported = OnnxWindowEncoder(partial)
        _verify(encoder, exported, hidden)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(model_file)
    log.info("e5 exported for questions: %s", model_file)
    return exported


def _fingerprint(weights: Path) -> str:
    """Changes when the weights' file, or the exporter's version, does."""
    import torch

    stat = weights.stat()
    key = f"{_FORMAT}|{torch.__version__}|{weights.name}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _verify(encoder: E5Encoder, exported: OnnxWindowEncoder, hidden: int) -> None:
    import torch

    generator = np.random.default_rng(0)
    for length in _PROBE_LENGTHS:
        words = generator.normal(0, 0.05, (1, length, hidden)).astype(np.float32)
        mask = np.ones((1, length), dtype=np.float32)
        with torch.inference_mode():
            want = encoder(torch.from_numpy(words), torch.from_numpy(mask))[0].numpy()
        got = exported.pooled(words, mask)[0]
        cosine = float(want @ got / (np.linalg.norm(want) * np.linalg.norm(got)))
        if cosine < _MIN_COSINE:
            raise OnnxExportError(f"a window of {length} is at cosine {cosine:.6f} of torch's")
