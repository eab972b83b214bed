"""llmrelay: one interface to many LLM providers, through their official APIs.

`import llmrelay` is cheap: names below load on first use, and nothing here does I/O or imports
the HTTP client.

    import llmrelay
    text = llmrelay.ChatCompletion.create(model, messages, provider=llmrelay.Provider.X)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name → module that defines it ("" when the name is a module itself).
_LAZY = {
    "ChatCompletion": ".chat_completion",
    "get_model_and_provider": ".chat_completion",
    "Client": ".client",
    "AsyncClient": ".client",
    "models": "",
    "Provider": "",
    "errors": "",
    "typing": "",
    "providers": "",
    "requests": "",
}

if TYPE_CHECKING:
    from . import Provider, errors, models, providers, requests, typing
    from .chat_completion import ChatCompletion, get_model_and_provider
    from .client import AsyncClient, Client

__all__ = [
    "AsyncClient",
    "ChatCompletion",
    "Client",
    "Provider",
    "__version__",
    "errors",
    "get_model_and_provider",
    "models",
    "providers",
    "requests",
    "typing",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'llmrelay' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name] or f".{name}", __name__)
    value = module if not _LAZY[name] else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
