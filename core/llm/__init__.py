"""Answer generators keyed by ZHIKU_LLM_BACKEND."""

from __future__ import annotations

from core.llm.protocol import LLM
from core.registry import Registry

LLMS = Registry[LLM](
    "LLM backend",
    {
        "extractive": "core.llm.extractive:ExtractiveLLM",
        "openai": "core.llm.openai_compatible:OpenAICompatibleLLM",
        "local": "core.llm.local:LocalLLM",
    },
    choose=lambda settings: settings.llm_backend,
)
