"""One lock around every load of a transformers model in this process, and around the export
of the query model. While a model loads, transformers sets torch's default dtype for the whole
process and puts back the one it found: two loads at once (the service's bfloat16 embedder and
a float32 reranker, or two tests' models) can leave bfloat16 as the default for good, and an
export traced under it came out partly in bfloat16, which ONNX Runtime cannot run ("no
implementation for Where(16)", seen once in a full test run)."""

from __future__ import annotations

import threading

MODEL_LOADING = threading.Lock()
