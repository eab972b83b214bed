"""Model names mapped to the providers that serve them (g4f's `models`, as data).

`llmrelay.models.get("llama-3.3-70b")` gives a `Model`; its `providers` are provider names in
the order the client tries them: the model maker's own API first, then dedicated hosts, then
aggregators. Each provider maps the name to its own id through its `model_aliases`. Models are
also attributes, as in g4f: `llmrelay.models.gpt_4o_mini`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .providers.retry_provider import IterListProvider

__all__ = ["MODELS", "Model", "get"]


@dataclass(frozen=True, slots=True)
class Model:
    """A model: its `name`, who made it (`base_provider`) and who serves it (`providers`)."""

    name: str
    base_provider: str
    providers: tuple[str, ...]

    @property
    def best_provider(self) -> IterListProvider:
        """All its providers as one failover provider, in order (g4f's `best_provider`)."""
        from .providers.registry import provider_by_name
        from .providers.retry_provider import IterListProvider

        return IterListProvider([provider_by_name(n) for n in self.providers], shuffle=False)


MODELS: tuple[Model, ...] = (
    Model("claude-sonnet-4-5", "Anthropic", ("Anthropic", "OpenRouter")),
    Model("claude-haiku-4-5", "Anthropic", ("Anthropic", "OpenRouter")),
    Model("gemini-2.5-flash", "Google", ("Gemini", "VertexAI", "OpenRouter")),
    Model("gemini-2.5-pro", "Google", ("Gemini", "VertexAI", "OpenRouter")),
    Model("gpt-4o-mini", "OpenAI", ("OpenAI", "AzureOpenAI", "OpenRouter")),
    Model("gpt-4o", "OpenAI", ("OpenAI", "AzureOpenAI", "OpenRouter")),
    Model("gpt-4.1-mini", "OpenAI", ("OpenAI", "AzureOpenAI", "OpenRouter")),
    Model("o4-mini", "OpenAI", ("OpenAI", "AzureOpenAI", "OpenRouter")),
    Model("llama-3.3-70b", "Meta",
          ("Groq", "Cerebras", "Together", "DeepInfra", "Fireworks", "OpenRouter")),
    Model("llama-3.1-8b", "Meta", ("Groq", "Cerebras", "DeepInfra", "HuggingFace", "OpenRouter")),
    Model("deepseek-v3", "DeepSeek", ("DeepSeek", "Together", "DeepInfra", "Fireworks",
                                      "OpenRouter")),
    Model("deepseek-r1", "DeepSeek", ("DeepSeek", "Together", "DeepInfra", "OpenRouter")),
    Model("mistral-small", "Mistral", ("Mistral", "OpenRouter")),
    Model("grok-3-mini", "xAI", ("xAI", "OpenRouter")),
    Model("sonar", "Perplexity", ("Perplexity", "OpenRouter")),
)  # fmt: skip

_BY_NAME = {model.name: model for model in MODELS}


def get(name: str) -> Model | None:
    """The model called `name`, if llmrelay knows it."""
    return _BY_NAME.get(name)


globals().update({re.sub(r"[^0-9a-zA-Z]", "_", m.name): m for m in MODELS})
