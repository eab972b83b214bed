"""`client.images`: `generate` and `edit`, sync and async, OpenAI-shaped `ImagesResponse`s.

    response = await AsyncClient().images.generate(prompt="a lighthouse", model="flux")
    print(response.data[0].url)

Which provider makes the images: `provider=` (per call), else the client's `image_provider=`,
else — with `base_url` — that OpenAI-compatible endpoint's `/images/generations`, else — with
only `api_key` — OpenAI's Images API, else the providers that list `model` among their
`image_models` (configured ones, with failover as for chat), else Pollinations (no key). An
OpenAI-compatible chat preset given as provider (`"Together"`, `OpenAI`) means its image
endpoint. `generate_images` is the one implementation; the gateway and the CLI call it too.
A gateway must not take `CALLER_ONLY` parameters from a remote request: they reach the local
filesystem (`save_to`) or choose where requests go (`base_url`, `api_base`, `proxy`).
"""

from __future__ import annotations

import inspect
import os
import time
from typing import TYPE_CHECKING, Any

from ..errors import (
    InvalidRequestError,
    ModelNotFoundError,
    NoMediaResponseError,
    UnsupportedParameterError,
)
from ..providers.asyncio import run_sync, to_async_iterator
from ..providers.registry import is_configured, provider_by_name
from ..providers.response import ImageResponse, ProviderInfo
from ..providers.retry_provider import IterListProvider
from ..providers.types import BaseProvider, BaseRetryProvider, ProviderType
from .image_files import image_results
from .types import ImagesResponse

if TYPE_CHECKING:
    from .client import _Settings

__all__ = [
    "CALLER_ONLY",
    "AsyncImages",
    "Images",
    "choose_image_provider",
    "generate_images",
    "image_providers",
]

#: Parameters only a local caller may set (never from a gateway request): files and addresses.
CALLER_ONLY = frozenset({"save_to", "base_url", "api_base", "proxy"})


def image_providers() -> list[type[BaseProvider]]:
    """The built-in image providers, in the order model routing tries them."""
    return [provider_by_name(name) for name in
            ("OpenAIImages", "GeminiImages", "HuggingFaceImages", "PollinationsImage")]  # fmt: skip


def _for_images(provider: type[BaseProvider]) -> type[BaseProvider]:
    """A provider as an image provider: an OpenAI-compatible chat preset → its image endpoint."""
    from ..Provider.gemini import Gemini
    from ..Provider.openai_compatible import OpenaiTemplate
    from ..Provider.openai_images import images_provider_for

    if issubclass(provider, OpenaiTemplate):
        return images_provider_for(provider)
    if provider is Gemini:
        return provider_by_name("GeminiImages")
    return provider


def _by_model(model: str) -> ProviderType:
    providers = image_providers()
    if not model:  # the configured ones, then the keyless default (Pollinations, last)
        usable = [p for p in providers if is_configured(p) or not p.needs_auth]
        return IterListProvider(usable, shuffle=False) if len(usable) > 1 else usable[0]
    listing = [p for p in providers if model in getattr(p, "image_models", ())]
    if not listing and "/" in model:
        listing = [provider_by_name("HuggingFaceImages")]
    if not listing:
        known = sorted({m for p in providers for m in getattr(p, "image_models", ())})
        raise ModelNotFoundError(
            f"no image provider serves {model!r}; image models: {', '.join(known)} "
            "(or pass provider=…)"
        )
    usable = [p for p in listing if not p.needs_auth or is_configured(p)]
    if len(usable) > 1:
        return IterListProvider(usable, shuffle=False)
    return (usable or listing)[0]  # unconfigured: its MissingAuthError names the variable


def choose_image_provider(
    provider: ProviderType | str | None,
    model: str = "",
    api_key: str | None = None,
    base_url: str | None = None,
) -> tuple[ProviderType, dict[str, Any]]:
    """The image provider for a call and the client-level arguments it receives (`api_key`
    and `base_url` go only to a provider chosen for them, never to one routed by model)."""
    extra: dict[str, Any] = {}
    if api_key is not None:
        extra["api_key"] = api_key
    if base_url is not None:
        extra["api_base"] = base_url
    if provider is None:
        if base_url is not None or api_key is not None:
            return _for_images(provider_by_name("OpenaiTemplate" if base_url else "OpenAI")), extra
        return _by_model(model), {}
    if isinstance(provider, str):
        provider = provider_by_name(provider)
    if isinstance(provider, BaseRetryProvider):
        mapped = [_for_images(p) for p in provider.providers]
        if mapped != list(provider.providers):
            provider = IterListProvider(mapped, shuffle=provider.shuffle)
        return provider, extra
    if isinstance(provider, type) and issubclass(provider, BaseProvider):
        return _for_images(provider), extra
    raise InvalidRequestError(f"not a provider: {provider!r}")


def _takes(provider: ProviderType, name: str, *, declared: bool = False) -> bool:
    """Whether `provider` takes `name` (with `declared`, only as a named parameter, not
    through `**kwargs`). A failover provider passes everything on to image providers."""
    if isinstance(provider, BaseRetryProvider):
        return True
    source = getattr(provider, "_create_signature_source", None)
    if source is None:
        return not declared
    params = inspect.signature(source()).parameters
    loose = any(p.kind is p.VAR_KEYWORD for p in params.values())
    return name in params or (loose and not declared)


def _capable(chosen: BaseRetryProvider, arguments: dict[str, Any]) -> BaseRetryProvider:
    """The failover's providers that take every argument: a parameter one image provider
    cannot honour sends the call to the next that can, instead of failing it (no provider
    taking it: `UnsupportedParameterError` naming it and them)."""
    capable = [p for p in chosen.providers if all(_takes(p, k) for k in arguments)]
    if not capable:
        names = ", ".join(str(getattr(p, "__name__", p)) for p in chosen.providers)
        unknown = sorted(k for k in arguments if not any(_takes(p, k) for p in chosen.providers))
        raise UnsupportedParameterError(
            f"none of {names} honours {', '.join(unknown) or 'this combination of parameters'}",
            provider=str(getattr(chosen, "__name__", chosen)),
        )
    if len(capable) == len(chosen.providers):
        return chosen
    return IterListProvider(capable, shuffle=chosen.shuffle)


async def generate_images(
    prompt: str,
    *,
    model: str = "",
    provider: ProviderType | str | None = None,
    n: int | None = None,
    size: str | None = None,
    response_format: str = "url",
    save_to: str | os.PathLike[str] | None = None,
    image: Any = None,
    api_key: str | None = None,
    base_url: str | None = None,
    proxy: str | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    **params: Any,
) -> ImagesResponse:
    """Make (or with `image`, edit) images for `prompt`. `params` are the spec's image
    parameters (`seed`, `aspect_ratio`, `negative_prompt`, …): one the provider cannot honour
    raises `UnsupportedParameterError` naming it; a parameter given as None is not asked."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequestError("images need a non-empty prompt")
    if response_format not in ("url", "b64_json"):
        raise InvalidRequestError("response_format must be 'url' or 'b64_json'")
    if not isinstance(model, str):
        raise InvalidRequestError(f"model must be a string, not {type(model).__name__}")
    chosen, extra = choose_image_provider(provider, model, api_key, base_url)
    given = {"n": n, "size": size, "image": image, "proxy": proxy, "timeout": timeout,
             "max_retries": max_retries}  # fmt: skip
    # None means "not asked" (as the OpenAI SDK's NOT_GIVEN): it is never sent, nor refused.
    asked = {**given, **params}
    arguments = {**extra, **{k: v for k, v in asked.items() if v is not None}}
    if _takes(chosen, "prompt"):  # an image provider (a chat one takes the message only)
        arguments["prompt"] = prompt
    if _takes(chosen, "prompt", declared=True) and _takes(chosen, "response_format"):
        arguments["response_format"] = response_format
    if isinstance(chosen, BaseRetryProvider):
        chosen = _capable(chosen, arguments)
    name = str(getattr(chosen, "__name__", chosen))
    create = chosen.get_async_create_function()
    refs: list[str] = []
    revised: list[str | None] = []
    source = to_async_iterator(create(model, [{"role": "user", "content": prompt}], **arguments))
    try:
        async for chunk in source:
            if isinstance(chunk, ProviderInfo):
                name = chunk.get_dict().get("name") or name
            elif isinstance(chunk, ImageResponse):
                urls = chunk.get_list()
                refs.extend(urls)
                prompts = chunk.get("revised_prompts") or []
                revised.extend(prompts[i] if i < len(prompts) else None for i in range(len(urls)))
    finally:
        await source.aclose()
    if not refs:
        raise NoMediaResponseError(f"{name} made no image", provider=name)
    data = await image_results(refs, response_format, save_to, provider=name, proxy=proxy,
                               timeout=timeout)  # fmt: skip
    for image, revised_prompt in zip(data, revised, strict=True):
        image.revised_prompt = revised_prompt
    return ImagesResponse(created=int(time.time()), data=data, provider=name)


class AsyncImages:
    """`client.images` of `AsyncClient`."""

    def __init__(self, settings: _Settings, image_provider: ProviderType | str | None = None):
        self._settings = settings
        self._provider = image_provider

    def _client_arguments(self, provider: ProviderType | str | None) -> dict[str, Any]:
        s = self._settings
        return {"provider": provider if provider is not None else self._provider,
                "api_key": s.api_key, "base_url": s.base_url, "proxy": s.proxy,
                "timeout": s.timeout, "max_retries": s.max_retries}  # fmt: skip

    async def generate(
        self,
        prompt: str,
        model: str = "",
        *,
        provider: ProviderType | str | None = None,
        response_format: str = "url",
        **params: Any,
    ) -> ImagesResponse:
        """Images for `prompt` (`n`, `size`, `save_to`, image parameters as keywords)."""
        arguments = {**self._client_arguments(provider), **params}
        return await generate_images(prompt, model=model, response_format=response_format,
                                     **arguments)  # fmt: skip

    async def edit(
        self,
        image: Any,
        prompt: str,
        model: str = "",
        *,
        provider: ProviderType | str | None = None,
        response_format: str = "url",
        **params: Any,
    ) -> ImagesResponse:
        """`image` (bytes, a path, a `data:` URI or a binary file) changed as `prompt` says,
        by a provider that edits images (OpenAI's Images API, Gemini image models)."""
        if image is None:
            raise InvalidRequestError("edit() needs image=…")
        arguments = {**self._client_arguments(provider), **params}
        return await generate_images(prompt, model=model, response_format=response_format,
                                     image=image, **arguments)  # fmt: skip


class Images:
    """`client.images` of the sync `Client`: the async one through the bridge."""

    def __init__(self, inner: AsyncImages) -> None:
        self._inner = inner

    def generate(self, prompt: str, model: str = "", **params: Any) -> ImagesResponse:
        return run_sync(self._inner.generate(prompt, model, **params))

    def edit(self, image: Any, prompt: str, model: str = "", **params: Any) -> ImagesResponse:
        return run_sync(self._inner.edit(image, prompt, model, **params))

    async def async_generate(self, prompt: str, model: str = "", **params: Any) -> ImagesResponse:
        """`generate`, awaited (g4f's sync client has it too)."""
        return await self._inner.generate(prompt, model, **params)
