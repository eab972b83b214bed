"""`Anthropic`: Claude through the Anthropic Messages API (`POST {api_base}/v1/messages`).

The key comes from `api_key=` or `ANTHROPIC_API_KEY`, the base URL from `api_base=`,
`ANTHROPIC_BASE_URL` or `https://api.anthropic.com` (read at call time). What the API needs and
OpenAI's format does not say is filled in: `max_tokens` defaults to `DEFAULT_MAX_TOKENS`; system
messages become the top-level `system`. Extended thinking is switched on with the API's own
object, `thinking={"type": "enabled", "budget_tokens": 2048}`; its text streams as
`Reasoning(token=…)` and each block's signature follows as `Reasoning(signature=…)`. To send a
signed thinking block back (tool use with thinking), put it on the assistant message as
`"reasoning": {"signature": …}` next to its `reasoning_content`. The translation is in
`protocols.anthropic`.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from ..errors import (
    IncompleteResponseError,
    InvalidRequestError,
    MissingAuthError,
    ResponseError,
)
from ..protocols.anthropic.upstream_request import build_payload
from ..protocols.anthropic.upstream_response import StreamParser, parse_message
from ..providers.base_provider import (
    AsyncGeneratorProvider,
    ProviderModelMixin,
    RaiseErrorMixin,
)
from ..providers.media import load_media
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

__all__ = ["Anthropic"]

API_VERSION = "2023-06-01"


class Anthropic(AsyncGeneratorProvider, ProviderModelMixin, RaiseErrorMixin):
    """The Anthropic Messages API."""

    label = "Anthropic"
    url = "https://console.anthropic.com"
    working = True
    needs_auth = True
    supports_stream = True
    supports_system_message = True
    supports_message_history = True
    api_base: ClassVar[str] = "https://api.anthropic.com"
    api_base_env: ClassVar[str] = "ANTHROPIC_BASE_URL"
    api_key_env: ClassVar[str] = "ANTHROPIC_API_KEY"
    default_model = "claude-sonnet-4-5"
    #: Model ids the official SDK lists, for discovery; any id is accepted (the API judges).
    models = (
        "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5", "claude-sonnet-4-6",
        "claude-opus-4-6", "claude-opus-4-7", "claude-sonnet-5", "claude-opus-5",
        "claude-sonnet-5-5", "claude-opus-5-5", "claude-haiku-5-5",
    )  # fmt: skip
    vision_models = models  # every Claude model listed takes images

    @classmethod
    def get_model(cls, model: str, **kwargs: Any) -> str:
        """Default and aliases as usual; any other id is passed on for the API to judge."""
        return cls.resolve_model(model, ())

    @classmethod
    def resolve_api_base(cls, api_base: str | None = None) -> str:
        """`api_base`, else `ANTHROPIC_BASE_URL`, else the public API; without `/v1` (a
        trailing `/v1` is dropped, as the path adds it)."""
        base = (api_base or os.environ.get(cls.api_base_env) or cls.api_base).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise InvalidRequestError(
                f"api_base must be an http(s) URL, not {base!r}", provider=cls.__name__
            )
        return base.removesuffix("/v1")

    @classmethod
    def resolve_api_key(cls, api_key: str | None = None) -> str:
        """`api_key`, else `ANTHROPIC_API_KEY`; `MissingAuthError` naming it if neither."""
        key = api_key or os.environ.get(cls.api_key_env)
        if not key:
            raise MissingAuthError(
                f"{cls.__name__} needs an API key: set {cls.api_key_env} or pass api_key=…",
                provider=cls.__name__,
            )
        return key

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
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        stop: str | list[str] | None = None,
        thinking: dict[str, Any] | None = None,
        web_search: bool = False,
        user: str | None = None,
        api_key: str | None = None,
        api_base: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> AsyncResult:
        """Stream (or, with `stream=False`, fetch) a message. `web_search=True` offers the
        API's server-side web search tool; its citations come back as `Sources`."""
        base = cls.resolve_api_base(api_base)
        key = cls.resolve_api_key(api_key)
        payload = build_payload(
            cls.get_model(model),
            list(messages),
            stream=stream,
            media=load_media(media),
            max_tokens=max_tokens,
            response_format=response_format,
            tools=tools,
            tool_choice=tool_choice,
            stop=stop,
            thinking=thinking,
            web_search=web_search,
            user=user,
            temperature=temperature,
            top_p=top_p,
        )
        headers = {
            "x-api-key": key,
            "anthropic-version": API_VERSION,
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }
        request = Request(
            provider=cls.__name__,
            headers=headers,
            json=payload,
            proxy=proxy,
            timeouts=Timeouts.from_param(timeout),
            max_retries=max_retries,
            secrets=(key,),
        )
        async with open_response("POST", f"{base}/v1/messages", request) as response:
            if not stream:
                data = await read_json(response, request)
                cls.raise_error(data, secrets=(key,))
                for chunk in parse_message(data):
                    yield chunk
                return
            async for chunk in cls._read_stream(response, request, key):
                yield chunk

    @classmethod
    async def _read_stream(cls, response: Any, request: Request, key: str) -> AsyncResult:
        parser = StreamParser()
        async for event in iter_sse(response, request):
            data = event_json(event, request)
            if event.event == "error" or not isinstance(data, dict) or data.get("type") == "error":
                cls.raise_error(data if isinstance(data, dict) else str(data), secrets=(key,))
                raise ResponseError(  # an error event in a shape the table does not know
                    f"error event: {str(data)[:200]}", provider=cls.__name__, secrets=(key,)
                )
            for chunk in parser.feed(data):
                yield chunk
            if parser.done:
                return
        raise IncompleteResponseError(
            "the stream ended without its message_stop event", provider=cls.__name__
        )
