"""Model names mapped to the providers that serve them (g4f's `models`, as data).

`llmrelay.models.get("llama-3.3-70b")` gives a `Model`; its `providers` are provider names in
the order the client tries them: the model maker's own API first, then dedicated hosts, then
aggregators. Each provider maps the name to its own id through its `model_aliases`. Models are
also attributes, as in g4f: `llmrelay.models.gpt_4o_mini`.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .providers.types import ProviderType

__all__ = ["MODELS", "Model", "ModelUtils", "default", "default_vision", "get"]


class Model:
    """A model: its `name`, who made it (`base_provider`) and who serves it — g4f's `Model`.

    `providers` names the providers llmrelay routes the model to (the table below);
    `best_provider` is the provider to call: given (a provider class or a failover provider,
    as g4f code writes it), or else a `Router` over `providers` that keeps, per call, those
    configured or running.
    """

    def __init__(
        self,
        name: str,
        base_provider: str = "",
        best_provider: ProviderType | None = None,
        providers: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.base_provider = base_provider
        self.providers = tuple(providers)
        if best_provider is not None:
            self.__dict__["best_provider"] = best_provider

    @functools.cached_property
    def best_provider(self) -> ProviderType:
        from .providers.routing import Router, auto

        return Router(self.providers) if self.providers else auto

    @property
    def has_own_provider(self) -> bool:
        """Whether `best_provider` was given (rather than routed from `providers`)."""
        return "best_provider" in self.__dict__ and not self.providers

    def __repr__(self) -> str:
        return f"Model(name={self.name!r}, base_provider={self.base_provider!r})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Model) and (self.name, self.base_provider, self.providers) == (
            other.name, other.base_provider, other.providers)  # fmt: skip

    def __hash__(self) -> int:
        return hash((self.name, self.base_provider, self.providers))


MODELS: tuple[Model, ...] = (
    Model("claude-sonnet-4-5", "Anthropic", providers=("Anthropic", "OpenRouter")),
    Model("claude-haiku-4-5", "Anthropic", providers=("Anthropic", "OpenRouter")),
    Model("gemini-2.5-flash", "Google", providers=("Gemini", "VertexAI", "OpenRouter")),
    Model("gemini-2.5-pro", "Google", providers=("Gemini", "VertexAI", "OpenRouter")),
    Model("gpt-4o-mini", "OpenAI", providers=("OpenAI", "AzureOpenAI", "OpenRouter")),
    Model("gpt-4o", "OpenAI", providers=("OpenAI", "AzureOpenAI", "OpenRouter")),
    Model("gpt-4.1-mini", "OpenAI", providers=("OpenAI", "AzureOpenAI", "OpenRouter")),
    Model("o4-mini", "OpenAI", providers=("OpenAI", "AzureOpenAI", "OpenRouter")),
    Model("llama-3.3-70b", "Meta",
          providers=("Groq", "Cerebras", "Together", "DeepInfra", "Fireworks", "OpenRouter")),
    Model("llama-3.1-8b", "Meta",
          providers=("Groq", "Cerebras", "DeepInfra", "HuggingFace", "OpenRouter")),
    Model("deepseek-v3", "DeepSeek",
          providers=("DeepSeek", "Together", "DeepInfra", "Fireworks", "OpenRouter")),
    Model("deepseek-r1", "DeepSeek", providers=("DeepSeek", "Together", "DeepInfra", "OpenRouter")),
    Model("mistral-small", "Mistral", providers=("Mistral", "OpenRouter")),
    Model("grok-3-mini", "xAI", providers=("xAI", "OpenRouter")),
    Model("sonar", "Perplexity", providers=("Perplexity", "OpenRouter")),
)  # fmt: skip


class ModelUtils:
    """g4f's name → `Model` registry. `ChatCompletion` and the clients consult it, so a model
    added here (`ModelUtils.convert["mine"] = Model("mine", "Me", best_provider=P)`) routes."""

    convert: ClassVar[dict[str, Model]] = {model.name: model for model in MODELS}


def get(name: str) -> Model | None:
    """The model called `name`, if llmrelay knows it."""
    return ModelUtils.convert.get(name)


#: Any configured provider with its default model (g4f's `default`).
default = Model("", "")
#: Providers whose default models take images (g4f's `default_vision`).
default_vision = Model(
    "", "", providers=("OpenAI", "Anthropic", "Gemini", "VertexAI", "OpenRouter")
)


globals().update({re.sub(r"[^0-9a-zA-Z]", "_", m.name): m for m in MODELS})
