"""`OpenaiTemplate`: any OpenAI-compatible Chat Completions endpoint.

Use it directly with `api_base=` (and `api_key=` if the server wants one), or through a preset
(`llmrelay.Provider.Groq`, `.Ollama`, … in `presets`) that fills in the base URL, the key's
environment variable and a default model. Every parameter is checked before any I/O; keys come
from the `api_key` argument or the preset's environment variable, read at call time.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

from ..errors import (
    IncompleteResponseError,
    InvalidRequestError,
    MissingAuthError,
    ModelNotFoundError,
    UnsupportedParameterError,
    error_from_body,
)
from ..jsonio import loads
from ..protocols.openai.upstream import (
    StreamParser,
    build_messages,
    build_payload,
    parse_completion,
)
from ..providers.asyncio import run_sync
from ..providers.base_provider import (
    AsyncGeneratorProvider,
    ProviderModelMixin,
    RaiseErrorMixin,
)
from ..providers.media import fetch_urls, inline_message_urls, load_media
from ..providers.model_lists import LOCAL_MODELS_TTL, model_lists
from ..providers.think import ThinkTags
from ..transport.http import (
    DEFAULT_MAX_RETRIES,
    Request,
    Timeouts,
    event_json,
    iter_sse,
    open_response,
    read_json,
)
from ..typing import AsyncResult, MediaListType, Messages
from .openai_embeddings import OpenAIEmbeddings
from .openai_responses import OpenAIResponses

__all__ = ["OpenaiTemplate"]


class OpenaiTemplate(
    OpenAIEmbeddings,
    OpenAIResponses,
    AsyncGeneratorProvider,
    ProviderModelMixin,
    RaiseErrorMixin,
):
    """An OpenAI-compatible `/chat/completions` endpoint."""

    label = "OpenAI-compatible endpoint"
    working = True
    needs_auth = False
    supports_stream = True
    supports_system_message = True
    supports_message_history = True
    #: Base URL ending in the version segment, e.g. "https://api.openai.com/v1".
    api_base: ClassVar[str | None] = None
    #: Environment variable that overrides `api_base`, and a suffix appended to its value.
    api_base_env: ClassVar[str | None] = None
    api_base_suffix: ClassVar[str] = ""
    #: Environment variable holding the API key.
    api_key_env: ClassVar[str | None] = None
    #: "Authorization" (sent as "Bearer <key>") or the name of a header that takes the key.
    auth_header: ClassVar[str] = "Authorization"
    #: Whether the API takes `web_search_options` (OpenAI's search models do).
    web_search_options: ClassVar[bool] = False
    #: Fetch media URLs with llmrelay's guarded fetcher and send bytes, instead of passing the
    #: URL on: for servers in the operator's own network (vLLM, llama.cpp, …), which would
    #: otherwise fetch a caller's URL from inside it.
    fetch_media_urls: ClassVar[bool] = False

    # -- configuration, resolved per call ------------------------------------------------------

    @classmethod
    def resolve_api_base(cls, api_base: str | None = None) -> str:
        """`api_base` argument, else the preset's environment variable, else its default."""
        base = api_base
        if not base and cls.api_base_env and os.environ.get(cls.api_base_env):
            base = os.environ[cls.api_base_env].rstrip("/") + cls.api_base_suffix
        base = base or cls.api_base
        if not base:
            hint = f"set {cls.api_base_env} or " if cls.api_base_env else ""
            raise InvalidRequestError(
                f"{cls.__name__} needs a base URL: {hint}pass api_base='https://…/v1'",
                provider=cls.__name__,
            )
        if not isinstance(base, str) or not base.startswith(("http://", "https://")):
            raise InvalidRequestError(
                f"api_base must be an http(s) URL, not {base!r}", provider=cls.__name__
            )
        return base.rstrip("/")

    @classmethod
    def resolve_api_key(cls, api_key: str | None = None) -> str | None:
        """`api_key` argument, else the preset's environment variable; required if
        `needs_auth` (`MissingAuthError` names the variable to set)."""
        key = api_key or (os.environ.get(cls.api_key_env) if cls.api_key_env else None)
        if not key and cls.needs_auth:
            where = f"set {cls.api_key_env} or " if cls.api_key_env else ""
            raise MissingAuthError(
                f"{cls.__name__} needs an API key: {where}pass api_key=…", provider=cls.__name__
            )
        return key or None

    @classmethod
    def _headers(cls, api_key: str | None, stream: bool) -> dict[str, str]:
        headers = {"Accept": "text/event-stream" if stream else "*/*"}
        if api_key:
            if cls.auth_header.lower() == "authorization":
                headers["Authorization"] = f"Bearer {api_key}"
            else:
                headers[cls.auth_header] = api_key
        return headers

    # -- models --------------------------------------------------------------------------------

    @classmethod
    def get_model(cls, model: str, **kwargs: Any) -> str:
        """Default and aliases as usual; validated only against a declared `models` list (the
        server's own list is not fetched for this: an unknown model is the server's to refuse)."""
        return cls.resolve_model(model, list(cls.models))

    @classmethod
    async def get_models_async(
        cls,
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: float | None = None,
        proxy: str | None = None,
    ) -> list[str]:
        """The model ids the endpoint lists at `/models`, fetched once per endpoint and key."""
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
        async with open_response("GET", f"{base}/models", request) as response:
            data = await read_json(response, request)
        cls.raise_error(data, response.status, secrets=(key,))
        models = [m["id"] for m in data.get("data", []) if isinstance(m, dict) and "id" in m]
        model_lists.put(cache_key, models, None if cls.needs_auth else LOCAL_MODELS_TTL)
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
        seed: int | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        n: int | None = None,
        api_key: str | None = None,
        api_base: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        stop: str | list[str] | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        user: str | None = None,
        web_search: bool = False,
        think_tags: bool = True,
    ) -> AsyncResult:
        """Stream (or, with `stream=False`, fetch) a chat completion. `<think>…</think>` in the
        answer comes back as `Reasoning` (`think_tags=False`: as text)."""
        if web_search and not cls.web_search_options:
            raise UnsupportedParameterError(
                f"{cls.__name__} has no web search tool (OpenAI's search models have one: "
                "provider=OpenAI, model='gpt-4o-mini-search-preview')",
                provider=cls.__name__,
            )
        if n not in (None, 1):
            raise UnsupportedParameterError(
                "n > 1 is not supported: llmrelay streams one choice per request",
                provider=cls.__name__,
            )
        base = cls.resolve_api_base(api_base)
        key = cls.resolve_api_key(api_key)
        loaded = load_media(media)
        payload = build_payload(
            cls.get_model(model) if model or cls.default_model else "",
            messages,
            stream=stream,
            media=loaded,
            response_format=response_format,
            tools=tools,
            tool_choice=tool_choice,
            seed=seed,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            stop=stop,
            presence_penalty=presence_penalty,
            frequency_penalty=frequency_penalty,
            user=user,
            web_search_options={} if web_search else None,
        )
        if cls.fetch_media_urls:  # everything is checked: now the media URLs may be fetched
            payload["messages"] = build_messages(
                await inline_message_urls(list(messages)), await fetch_urls(loaded)
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
        if not payload["model"]:  # a local server without a default: take what it serves
            served = await cls.get_models_async(
                key, base, timeout=request.timeouts.total, proxy=proxy
            )
            if not served:
                raise ModelNotFoundError(
                    f"no model given and {base}/models lists none", provider=cls.__name__
                )
            payload["model"] = cls.resolve_model(served[0], served)
        tags = ThinkTags() if think_tags else None
        async with open_response("POST", f"{base}/chat/completions", request) as response:
            if not stream:
                data = await read_json(response, request)
                cls.raise_error(data, secrets=(key,))
                for chunk in parse_completion(data):
                    for piece in tags.split(chunk) if tags is not None else (chunk,):
                        yield piece
            else:
                async for chunk in cls._read_stream(response, request, key):
                    if tags is None:
                        yield chunk
                    else:
                        for piece in tags.split(chunk):
                            yield piece
        for piece in tags.flush() if tags is not None else ():
            yield piece

    @classmethod
    async def _read_stream(cls, response: Any, request: Request, key: str | None) -> AsyncResult:
        parser = StreamParser()
        async for event in iter_sse(response, request):
            if event.data == "[DONE]":
                for chunk in parser.close():
                    yield chunk
                return
            if event.event == "error":  # whatever its data holds, the answer failed
                raise error_from_body(
                    _error_data(event.data), provider=cls.__name__, secrets=(key,)
                )
            try:
                data = loads(event.data)
            except ValueError:
                data = event_json(event, request)  # raises the error that names the event
            if not isinstance(data, dict):
                data = str(data)
            # `{"error": …}` (OpenAI) and `{"object": "error", "message": …}` (vLLM, FastChat)
            cls.raise_error(data, secrets=(key,))
            for chunk in parser.feed(data):
                yield chunk
        raise IncompleteResponseError(
            "the stream ended without its [DONE] marker", provider=cls.__name__
        )


def _error_data(text: str) -> Any:
    """An `event: error`'s data: its JSON, or the text itself (never empty)."""
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip() or "the stream reported an error"
    return data if data not in (None, {}, [], "") else "the stream reported an error"
