"""`llmrelay.ChatCompletion`: g4f's one-call API over any provider::

text = ChatCompletion.create("model", messages, provider=Provider)
for chunk in ChatCompletion.create("model", messages, provider=Provider, stream=True): ...
text = await ChatCompletion.create_async("model", messages, provider=Provider)
async for chunk in ChatCompletion.create_async(..., stream=True): ...
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from .errors import (
    InvalidRequestError,
    ProviderNotFoundError,
    ProviderNotWorkingError,
    StreamNotSupportedError,
)
from .providers.asyncio import to_async_iterator
from .providers.registry import provider_by_name
from .providers.response import collect_text, concat_chunks
from .providers.routing import auto
from .providers.types import BaseProvider, BaseRetryProvider, ProviderType
from .typing import AsyncResult, CreateResult, Messages

__all__ = ["ChatCompletion", "get_model_and_provider"]

log = logging.getLogger("llmrelay.routing")


def _resolve_provider(provider: ProviderType | str | None, model: Any) -> ProviderType:
    if provider is None:  # a g4f-style `Model` object, or a name routed as the clients do
        provider = getattr(model, "best_provider", None) or auto
    if isinstance(provider, str):
        return provider_by_name(provider)
    if isinstance(provider, BaseRetryProvider) or (
        isinstance(provider, type) and issubclass(provider, BaseProvider)
    ):
        return provider
    raise ProviderNotFoundError(
        f"provider must be a provider class, a retry provider or a name, not {provider!r}"
    )


def _model_name(model: Any) -> str:
    name = getattr(model, "name", model)
    if name is None:
        return ""
    if not isinstance(name, str):
        raise InvalidRequestError(f"model must be a string, not {type(name).__name__}")
    return name


def _prepare(
    model: Any,
    provider: ProviderType | str | None,
    stream: bool,
    ignore_working: bool,
    ignore_stream: bool,
    kwargs: dict[str, Any],
) -> tuple[str, ProviderType, bool]:
    chosen = _resolve_provider(provider, model)
    name = getattr(chosen, "__name__", type(chosen).__name__)
    if not ignore_working and not chosen.working:
        raise ProviderNotWorkingError(
            f"{name} is marked as not working (pass ignore_working=True to use it anyway)",
            provider=name,
        )
    if stream and not chosen.supports_stream and not ignore_stream:
        raise StreamNotSupportedError(
            f"{name} does not stream (pass ignore_stream=True to get the answer as one chunk)",
            provider=name,
        )
    image, image_name = kwargs.pop("image", None), kwargs.pop("image_name", None)
    if image is not None:  # g4f's older single-image parameters
        kwargs["media"] = [*kwargs.get("media", []), (image, image_name)]
    return _model_name(model), chosen, stream and bool(chosen.supports_stream)


def get_model_and_provider(
    model: Any,
    provider: ProviderType | str | None,
    stream: bool,
    ignore_working: bool = False,
    ignore_stream: bool = False,
    logging: bool = True,
    has_images: bool = False,
) -> tuple[str, ProviderType]:
    """g4f's helper: the model name and the provider a call would use (a name or a `Model`;
    no provider routes the name; `has_images` with neither picks `models.default_vision`)."""
    if has_images and provider is None and not model:
        from .models import default_vision

        model = default_vision
    name, chosen, _ = _prepare(model, provider, stream, ignore_working, ignore_stream, {})
    if logging:
        log.debug("model %r: provider %s", name, getattr(chosen, "__name__", chosen))
    return name, chosen


class ChatCompletion:
    """Create chat completions with one call (g4f's `ChatCompletion`)."""

    @staticmethod
    def create(
        model: Any,
        messages: Messages,
        provider: ProviderType | str | None = None,
        stream: bool = False,
        ignore_working: bool = False,
        ignore_stream: bool = False,
        **kwargs: Any,
    ) -> str | CreateResult:
        """The answer text, or with `stream=True` an iterator of chunks."""
        name, chosen, provider_stream = _prepare(
            model, provider, stream, ignore_working, ignore_stream, kwargs
        )
        result = chosen.get_create_function()(name, messages, stream=provider_stream, **kwargs)
        return result if stream else concat_chunks(result)

    @staticmethod
    def create_async(
        model: Any,
        messages: Messages,
        provider: ProviderType | str | None = None,
        stream: bool = False,
        ignore_working: bool = False,
        ignore_stream: bool = False,
        **kwargs: Any,
    ) -> AsyncResult | Coroutine[Any, Any, str]:
        """A coroutine of the answer text, or with `stream=True` an async iterator of chunks."""
        name, chosen, provider_stream = _prepare(
            model, provider, stream, ignore_working, ignore_stream, kwargs
        )
        create = chosen.get_async_create_function()
        result = create(name, messages, stream=provider_stream, **kwargs)
        if stream:
            if not hasattr(result, "__aiter__"):  # a provider that answers in one piece
                return to_async_iterator(result)
            return result  # type: ignore[no-any-return]
        if hasattr(result, "__aiter__"):
            return collect_text(result)
        return result  # type: ignore[no-any-return]
