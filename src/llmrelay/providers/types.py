"""The provider protocol: `BaseProvider`, `BaseRetryProvider` and `ProviderType` (as in g4f).

Providers are used as classes (`Provider.create_completion(...)`), so their metadata are class
attributes holding immutable defaults. What varies per request lives elsewhere: `last_model`
is a class-level property backed by a context variable, so two concurrent requests (tasks or
threads) each see the model they used, and `params` is computed from the create function.
"""

from __future__ import annotations

import contextvars
import inspect
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeAlias

from .asyncio import propagate_context_var

__all__ = ["BaseProvider", "BaseRetryProvider", "ProviderMeta", "ProviderType"]

_EMPTY: Mapping[type, str] = MappingProxyType({})
# Each context holds an immutable {provider class: model} map, replaced (never mutated) on set.
_last_models: contextvars.ContextVar[Mapping[type, str]] = contextvars.ContextVar(
    "llmrelay_last_models", default=_EMPTY
)
propagate_context_var(_last_models)


class ProviderMeta(ABCMeta):
    """Metaclass of every provider: class-level `last_model` and `params` properties."""

    @property
    def last_model(cls) -> str | None:
        """The model the current request (task or thread) last resolved for this provider."""
        return _last_models.get().get(cls)

    @last_model.setter
    def last_model(cls, model: str | None) -> None:
        current = _last_models.get()
        if current.get(cls) == model:
            return  # the common case: the same model again; nothing to replace
        models = dict(current)
        if model is None:
            models.pop(cls, None)
        else:
            models[cls] = model
        _last_models.set(MappingProxyType(models))

    @property
    def params(cls) -> str:
        """One line per parameter the provider takes: name, type and default."""
        lines = []
        get_parameters: Callable[[], Mapping[str, inspect.Parameter]] | None = getattr(
            cls, "get_parameters", None
        )
        for name, param in (get_parameters() if get_parameters else {}).items():
            line = f"    {name}"
            if param.annotation is not inspect.Parameter.empty:
                annotation = param.annotation
                line += f": {getattr(annotation, '__name__', None) or annotation}"
            default = param.default
            if name == "model" and getattr(cls, "default_model", None):
                default = cls.default_model  # type: ignore[attr-defined]
            if default is not inspect.Parameter.empty:
                line += f" = {default!r}"
            lines.append(line + ",")
        body = "\n".join(lines)
        return f"llmrelay.Provider.{cls.__name__} supports: (\n{body}\n)"


class BaseProvider(metaclass=ProviderMeta):
    """What every provider declares. Subclass one of `base_provider`'s classes, not this."""

    url: str | None = None
    label: str | None = None
    #: Providers sharing credentials name the same parent (used for the auth cache file).
    parent: str | None = None
    working: bool = False
    needs_auth: bool = False
    supports_stream: bool = False
    supports_system_message: bool = True
    supports_message_history: bool = True

    @classmethod
    @abstractmethod
    def get_create_function(cls) -> Callable[..., Any]:
        """The sync create function (`create_completion`)."""

    @classmethod
    @abstractmethod
    def get_async_create_function(cls) -> Callable[..., Any]:
        """The async create function."""

    @classmethod
    def get_dict(cls) -> dict[str, Any]:
        return {"name": cls.__name__, "url": cls.url, "label": cls.label or cls.__name__}


class BaseRetryProvider(BaseProvider):
    """A provider that tries a list of providers in turn (see `retry_provider`)."""

    __name__: str = "RetryProvider"
    working = True
    supports_stream = True

    def __init__(self, providers: list[type[BaseProvider]], shuffle: bool = True) -> None:
        self.providers = list(providers)
        self.shuffle = shuffle


ProviderType: TypeAlias = type[BaseProvider] | BaseRetryProvider
