"""A tiny causal LM, built once per test session, for the local LLM backend's own tests and its
contract."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A randomly initialised two-layer Llama with a word-level tokenizer trained here, saved
    with and without a chat template: nothing is downloaded."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = Tokenizer(models.WordLevel(unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    words.train_from_iterator(
        [
            "Zhiku answers questions from your documents with citations .",
            "system user assistant : what is the answer ?",
            "知 库 回 答 问 题 。",
        ],
        trainers.WordLevelTrainer(special_tokens=["<unk>", "<pad>", "<s>", "</s>"]),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=words,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        # No end-of-sequence token: the model writes until max_new_tokens or a stop.
        bos_token_id=2,
        eos_token_id=None,
        pad_token_id=1,
        max_position_embeddings=1 << 20,
    )
    model = LlamaForCausalLM(config)
    root = tmp_path_factory.mktemp("tiny-models")
    folders = {"chat_template": root / "tiny-chat", "plain": root / "tiny-plain"}
    model.save_pretrained(folders["plain"])
    tokenizer.save_pretrained(folders["plain"])
    tokenizer.chat_template = (
        "{% for m in messages %}{{ m.role }} : {{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant :{% endif %}"
    )
    model.save_pretrained(folders["chat_template"])
    tokenizer.save_pretrained(folders["chat_template"])
    return folders
