"""`OllamaNative`: a local (or cloud) Ollama server through its own chat API, `POST /api/chat`.

(`llmrelay.Provider.Ollama` is the OpenAI-compatible preset on Ollama's `/v1`; this one speaks
Ollama's native API, which also has `think`, `keep_alive`, raw `options` such as `num_ctx`, and
streams NDJSON.)

The server comes from `api_base=`, else `OLLAMA_HOST` (Ollama's own variable: `host:port`
without a scheme is read as Ollama reads it), else `http://127.0.0.1:11434`. No key is needed;
one given as `api_key=` or `OLLAMA_API_KEY` (Ollama's cloud) is sent as `Authorization: Bearer`.
Without a model, the first one the server lists at `/api/tags` is used (the list is cached per
server and key, as `OpenaiTemplate` caches `/models`). llmrelay's model names for the Llama models
map to Ollama's library tags (`llama-3.1-8b` → `llama3.1:8b`); any other name is sent as given.
The translation is in `protocols.ollama.upstream`.
"""

from __future__ import annotations

import os
from types import MappingProxyType
from typing import Any, ClassVar

from ..errors import (
    IncompleteResponseError,
    InvalidRequestError,
    ModelNotFoundError,
    ResponseError,
    UnsupportedParameterError,
)
from ..protocols.ollama.upstream import StreamParser, build_payload, parse_host, parse_response
from ..providers.asyncio import run_sync
from ..providers.base_provider import (
    AsyncGeneratorProvider,
    ProviderModelMixin,
    RaiseErrorMixin,
)
from ..providers.media import fetch_urls, inline_message_urls, load_media
from ..providers.model_lists import model_lists
from ..providers.think import ThinkTags
from ..transport.http import (
    DEFAULT_MAX_RETRIES,
    Request,
    Timeouts,
    iter_ndjson,
    open_response,
    read_json,
)
from ..typing import AsyncResult, MediaListType, Messages
from .ollama_embeddings import OllamaEmbeddings

__all__ = ["OllamaNative"]


class OllamaNative(OllamaEmbeddings, AsyncGeneratorProvider, ProviderModelMixin, RaiseErrorMixin):
    """Ollama's native chat API."""

    label = "Ollama"
    url = "https://ollama.com"
    working = True
    needs_auth = False
    supports_stream = True
    supports_system_message = True
    supports_message_history = True
    default_model = None
    #: Model families that take images (any tag: `llava:13b` is `llava`).
    vision_models = (
        "llava",
        "llava-llama3",
        "bakllava",
        "llama3.2-vision",
        "llama4",
        "gemma3",
        "qwen2.5vl",
        "minicpm-v",
        "moondream",
        "granite3.2-vision",
        "mistral-small3.1",
    )
    model_aliases = MappingProxyType(
        {"llama-3.3-70b": "llama3.3:70b", "llama-3.1-8b": "llama3.1:8b"}
    )
    api_base: ClassVar[str] = "http://127.0.0.1:11434"
    api_base_env: ClassVar[str] = "OLLAMA_HOST"
    api_key_env: ClassVar[str] = "OLLAMA_API_KEY"

    # -- configuration, resolved per call ------------------------------------------------------

    @classmethod
    def resolve_api_base(cls, api_base: str | None = None) -> str:
        """`api_base`, else `OLLAMA_HOST`, else the local default; without a trailing `/api`
        (the paths add it). Either may be written as Ollama takes it (`host:port`, …)."""
        base = api_base or os.environ.get(cls.api_base_env) or cls.api_base
        if not isinstance(base, str):
            raise InvalidRequestError(f"api_base must be a URL string, not {base!r}")
        try:
            return parse_host(base).removesuffix("/api")
        except InvalidRequestError as exc:
            raise InvalidRequestError(exc.message, provider=cls.__name__) from None

    @classmethod
    def resolve_api_key(cls, api_key: str | None = None) -> str | None:
        """`api_key`, else `OLLAMA_API_KEY`, else None (a local server needs none)."""
        return api_key or os.environ.get(cls.api_key_env) or None

    @classmethod
    def _headers(cls, api_key: str | None, stream: bool) -> dict[str, str]:
        accept = "application/x-ndjson" if stream else "application/json"
        headers = {"Accept": accept}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return headers

    # -- models --------------------------------------------------------------------------------

    @classmethod
    def get_model(cls, model: str, **kwargs: Any) -> str:
        """Aliases as usual; any name is passed on for the server to judge (it answers 404
        "model '…' not found", a `ModelNotFoundError`, for one it has not pulled)."""
        return cls.resolve_model(model, ())

    @classmethod
    async def get_models_async(
        cls,
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: float | None = None,
        proxy: str | None = None,
    ) -> list[str]:
        """The models the server has (`GET /api/tags`), fetched once per server and key."""
        base = cls.resolve_api_base(api_base)
        key = cls.resolve_api_key(api_key)
        cache_key = model_lists.key(cls.__name__, base, key)
        cached = model_lists.get(cache_key)
        if cached is not None:
            return cached
        request = Request(
            provider=cls.__name__,
            headers=cls._headers(key, stream=False),
            proxy=proxy,
            timeouts=Timeouts.from_param(timeout),
            secrets=(key,),
        )
        async with open_response("GET", f"{base}/api/tags", request) as response:
            data = await read_json(response, request)
        cls.raise_error(data, secrets=(key,))
        if not isinstance(data, dict):
            raise ResponseError(f"/api/tags answered {str(data)[:200]}", provider=cls.__name__)
        models = [
            name
            for m in data.get("models") or ()
            if isinstance(m, dict) and isinstance(name := m.get("model") or m.get("name"), str)
        ]
        model_lists.put(cache_key, models)
        return models

    @classmethod
    def get_models(cls, **kwargs: Any) -> list[str]:
        """`get_models_async` from sync code (takes api_key, api_base, timeout, proxy)."""
        return run_sync(cls.get_models_async(**kwargs))

    # -- the call ------------------------------------------------------------------------------

    @classmethod
    async def create_async_generator(  # type: ignore[override]
        cls,
        model: str,
        messages: Messages,
        stream: bool = True,
        timeout: float | Timeouts | None = None,
        proxy: str | None = None,
        media: MediaListType | None = None,
        response_format: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        max_tokens: int | None = None,
        stop: str | list[str] | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        think: bool | str | None = None,
        keep_alive: str | float | None = None,
        options: dict[str, Any] | None = None,
        web_search: bool = False,
        api_key: str | None = None,
        api_base: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        think_tags: bool = True,
    ) -> AsyncResult:
        """Stream (or, with `stream=False`, fetch) a chat answer. `think` is the API's own:
        True/False, or a level ("low", "medium", "high") for models that take one; its text
        comes back as `Reasoning`. `keep_alive` ("5m", seconds, 0 to unload) and `options` (raw
        Ollama options such as `{"num_ctx": 8192}`) go to the server as given. `<think>…</think>`
        in the text (models whose thinking the server does not separate) comes back as
        `Reasoning` too (`think_tags=False`: as text)."""
        if web_search:
            raise UnsupportedParameterError(
                f"{cls.__name__}: Ollama's chat API has no web search tool (Ollama's cloud "
                "offers web search as a separate API, not through chat)",
                provider=cls.__name__,
            )
        base = cls.resolve_api_base(api_base)
        key = cls.resolve_api_key(api_key)
        # Ollama takes image bytes: URLs are fetched by llmrelay's guarded fetcher.
        loaded = await fetch_urls(load_media(media))
        payload = build_payload(
            cls.get_model(model) if model else "",
            await inline_message_urls(list(messages)),
            stream=stream,
            media=loaded,
            response_format=response_format,
            tools=tools,
            tool_choice=tool_choice,
            think=think,
            keep_alive=keep_alive,
            max_tokens=max_tokens,
            stop=stop,
            options=options,
            seed=seed,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            presence_penalty=presence_penalty,
            frequency_penalty=frequency_penalty,
        )
        request = Request(
            provider=cls.__name__,
            headers=cls._headers(key, stream),
            json=payload,
            proxy=proxy,
            timeouts=Timeouts.from_param(timeout),
            max_retries=max_retries,
            secrets=(key,),
        )
        if not payload["model"]:  # no model given: take the first one the server has
            served = await cls.get_models_async(
                key, base, timeout=request.timeouts.total, proxy=proxy
            )
            if not served:
                raise ModelNotFoundError(
                    f"no model given and {base}/api/tags lists none: pull one first "
                    "(`ollama pull <model>`)",
                    provider=cls.__name__,
                )
            payload["model"] = cls.resolve_model(served[0], served)
        tags = ThinkTags() if think_tags else None
        async with open_response("POST", f"{base}/api/chat", request) as response:
            if not stream:
                data = await read_json(response, request)
                cls._check(data, key)
                for chunk in parse_response(data):
                    for piece in tags.split(chunk) if tags is not None else (chunk,):
                        yield piece
                for piece in tags.flush() if tags is not None else ():
                    yield piece
                return
            parser = StreamParser()
            async for data in iter_ndjson(response, request):
                cls._check(data, key)
                for chunk in parser.feed(data):
                    for piece in tags.split(chunk) if tags is not None else (chunk,):
                        yield piece
                if parser.done:
                    for piece in tags.flush() if tags is not None else ():
                        yield piece
                    return
        raise IncompleteResponseError(
            "the stream ended without its final object (done: true)", provider=cls.__name__
        )

    @classmethod
    def _check(cls, data: Any, key: str | None) -> None:
        """Raise for an `{"error": …}` object (Ollama reports failures mid-stream so) or for
        anything that is not an answer object."""
        if not isinstance(data, dict):
            raise ResponseError(
                f"expected a JSON object, got {str(data)[:200]}", provider=cls.__name__,
                secrets=(key,),
            )  # fmt: skip
        cls.raise_error(data, secrets=(key,))
