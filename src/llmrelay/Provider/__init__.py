"""Concrete providers by class name, as g4f users write them: `llmrelay.Provider.<Name>`.

Modules load on first access, so `import llmrelay.Provider` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import ProviderNotFoundError

_PRESET_NAMES = (
    "OpenAI", "AzureOpenAI", "Groq", "Mistral", "DeepSeek", "OpenRouter", "Together",
    "Fireworks", "DeepInfra", "xAI", "Cerebras", "Perplexity", "HuggingFace", "Ollama", "VLLM",
    "LlamaCpp", "LMStudio",
)  # fmt: skip

#: Provider name → module that defines it.
_BUILTINS: dict[str, str] = {
    "OpenaiTemplate": ".openai_compatible",
    "Anthropic": ".anthropic",
    "OllamaNative": ".ollama_native",
    "Gemini": ".gemini",
    "VertexAI": ".vertex",
    "LocalLlama": ".local_llama",
    "OpenAIImages": ".openai_images",
    "GeminiImages": ".gemini_images",
    "HuggingFaceImages": ".huggingface_images",
    "PollinationsImage": ".pollinations",
    **dict.fromkeys(_PRESET_NAMES, ".presets"),
}

__all__ = sorted(_BUILTINS)


def __getattr__(name: str) -> Any:
    module = _BUILTINS.get(name)
    if module is None:
        if name.startswith("__"):
            raise AttributeError(name)
        known = ", ".join(sorted(_BUILTINS)) or "none yet"
        raise ProviderNotFoundError(f"no provider named {name!r}; built-in providers: {known}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_BUILTINS))
