"""Which providers answer a model name right now, and `Router`, the provider that asks.

For a model name, in order:

* a model `llmrelay.models` knows: its providers in the table's order, keeping those that are
  configured (their key variable is set) or, for local servers, running;
* any other name: the local servers (Ollama, llama.cpp's server, vLLM, LM Studio) that are
  running and list it (`providers.discovery`);
* a `.gguf` path, or a model of the in-process provider's catalogue: that provider;
* no name at all: the configured providers in `DEFAULT_PROVIDERS` order (each with its own
  default model), else the running local servers, else the in-process local model.

`Router` is a failover provider over that list, decided per call: `ChatCompletion`, `Client`
and `AsyncClient` route a model name through the same one (`auto`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidRequestError, MissingAuthError, ModelNotFoundError
from .discovery import LOCAL_SERVERS, is_available, local_servers_listing
from .registry import is_configured, key_variables, provider_by_name
from .retry_provider import IterListProvider
from .types import BaseProvider

__all__ = ["DEFAULT_PROVIDERS", "LOCAL_MODEL_PROVIDER", "Router", "auto", "providers_for_model"]

log = logging.getLogger("llmrelay.routing")

#: Tried in this order when no model is named.
DEFAULT_PROVIDERS = (
    "OpenAI", "Anthropic", "Gemini", "VertexAI", "AzureOpenAI", "Groq", "Mistral", "DeepSeek",
    "xAI", "OpenRouter", "Together", "Fireworks", "DeepInfra", "Cerebras", "Perplexity",
    "HuggingFace",
)  # fmt: skip
#: The in-process model answering when nothing else is configured (the `local` extra).
LOCAL_MODEL_PROVIDER = "LocalLlama"

#: Arguments that would send the caller's credentials or traffic to whichever provider the
#: model name picks: they need an explicit provider.
_NEEDS_A_PROVIDER = ("api_key", "api_base", "base_url")


async def providers_for_model(
    name: str, names: Sequence[str] | None = None
) -> list[type[BaseProvider]]:
    """The providers that can serve model `name` now, in preference order (`names`: choose
    among these instead of the model table's)."""
    if names is None:
        if not name:
            return await _defaults()
        local = _local_model(name)
        if local is not None:
            log.debug("model %r: a model file the in-process model runs", name)
            return [local]
        from .. import models

        model = models.get(name)
        if model is not None and model.has_own_provider:  # registered the g4f way
            return [model.best_provider]  # type: ignore[list-item]
        if model is None or not model.providers:
            return await _local_servers(name)
        names = model.providers
    candidates = [provider_by_name(n) for n in names]
    available = [p for p in candidates if await is_available(p)]
    if not available:
        variables = [v for p in candidates if p.needs_auth for v in key_variables(p)]
        raise MissingAuthError(
            f"no configured provider for model {name!r}: set one of {', '.join(variables)}"
        )
    log.debug("model %r: providers %s (key set or server running)", name, _names(available))
    return available


def _local_model(name: str) -> type[BaseProvider] | None:
    """The in-process model provider, for a `.gguf` path or a model of its catalogue."""
    try:
        local = provider_by_name(LOCAL_MODEL_PROVIDER)
    except InvalidRequestError:
        return None
    served = getattr(local, "models", ())
    return local if name.endswith(".gguf") or name in served else None


async def _local_servers(name: str) -> list[type[BaseProvider]]:
    servers = await local_servers_listing(name, [provider_by_name(n) for n in LOCAL_SERVERS])
    if servers:
        log.debug("model %r: listed by the local server(s) %s", name, _names(servers))
        return servers
    from .. import models

    known = ", ".join(m.name for m in models.MODELS)
    raise ModelNotFoundError(
        f"no provider is known for model {name!r} and no running local server lists it: "
        f"pass provider=… or base_url=…; models llmrelay can route: {known}"
    )


async def _defaults() -> list[type[BaseProvider]]:
    configured = [p for n in DEFAULT_PROVIDERS if is_configured(p := provider_by_name(n))]
    if configured:
        log.debug("no model named: configured providers %s", _names(configured))
        return configured
    servers = await local_servers_listing("", [provider_by_name(n) for n in LOCAL_SERVERS])
    if servers:
        log.debug("no model named and no key set: local servers %s", _names(servers))
        return servers
    local = _local_model(".gguf")
    if local is not None:
        log.debug("no model named, no key set, no local server: the in-process model")
        return [local]
    raise MissingAuthError(
        "no provider is configured: set an API key such as OPENAI_API_KEY, ANTHROPIC_API_KEY "
        "or GEMINI_API_KEY, start a local server (Ollama, llama.cpp), or pass provider=…"
    )


def _names(providers: Sequence[Any]) -> str:
    return ", ".join(getattr(p, "__name__", str(p)) for p in providers)


class Router(IterListProvider):
    """Failover over the providers that serve the call's model, chosen when it is made.

    With `names`, chooses among those providers (configured or running ones, in order); without,
    among the providers `llmrelay.models` lists for the model, or the local servers listing it.
    """

    def __init__(self, names: Sequence[str] | None = None) -> None:
        super().__init__([], shuffle=False)
        self.names = None if names is None else tuple(names)

    async def _candidates(self, model: str, kwargs: dict[str, Any]) -> list[type[BaseProvider]]:
        sent = [k for k in _NEEDS_A_PROVIDER if kwargs.get(k) is not None]
        if sent:
            raise InvalidRequestError(
                f"{', '.join(sent)} given without a provider: pass provider=… (credentials and "
                "base URLs are never sent to a provider chosen by model name)"
            )
        return await providers_for_model(model, self.names)

    def __repr__(self) -> str:
        return f"Router({list(self.names) if self.names is not None else 'by model name'})"


#: Routes by the model name each call gives.
auto = Router()
