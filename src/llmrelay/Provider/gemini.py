"""`Gemini`: Google's Gemini API (`generativelanguage.googleapis.com`, `v1beta`), with an API key.

The key comes from `api_key=`, else `GEMINI_API_KEY`, else `GOOGLE_API_KEY` (the google-genai SDK
prefers `GOOGLE_API_KEY` when both are set; llmrelay reads the Gemini-specific one first), and
is sent in the `x-goog-api-key` header, never in the URL. Streaming uses
`:streamGenerateContent?alt=sse`, whose events carry no end marker: an answer is complete when
its finishReason has come, and a stream that ends without one raises `IncompleteResponseError`.
The wire format (shared with `VertexAI`) is in `protocols.gemini`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from typing import Any, ClassVar

from ..errors import (
    BadRequestError,
    InvalidRequestError,
    MissingAuthError,
    ResponseError,
)
from ..protocols.gemini.upstream_request import build_payload, model_path
from ..protocols.gemini.upstream_response import ResponseParser
from ..providers.base_provider import AsyncGeneratorProvider, ProviderModelMixin, RaiseErrorMixin
from ..providers.media import load_media
from ..transport.http import (
    DEFAULT_MAX_RETRIES,
    Request,
    Timeouts,
    event_json,
    iter_sse,
    open_response,
)
from ..transport.http import read_json as read_json_body
from ..typing import AsyncResult, Chunk, MediaListType, Messages
from .google_embeddings import GeminiEmbeddings

__all__ = ["Gemini", "generate"]

#: Gemini models that take images, and those that answer with images (`ImageResponse`) — the
#: same on the Gemini API and Vertex AI.
VISION_MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite", "gemini-2.0-flash",
                 "gemini-2.5-flash-image", "gemini-3-pro-preview")  # fmt: skip
IMAGE_MODELS = ("gemini-2.5-flash-image",)
_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"})


def _key_refused(body: Any) -> bool:
    """Gemini answers a bad key with 400 INVALID_ARGUMENT and an ErrorInfo reason."""
    error = body.get("error") if isinstance(body, Mapping) else None
    details = error.get("details") if isinstance(error, Mapping) else None
    return any(isinstance(d, Mapping) and d.get("reason") in _KEY_REASONS for d in details or ())


async def generate(
    provider: type[RaiseErrorMixin], url: str, request: Request, *, stream: bool
) -> AsyncGenerator[Chunk, None]:
    """POST a `GenerateContentRequest` to `url` (`:generateContent` or
    `:streamGenerateContent?alt=sse`) and yield the answer's chunks."""
    name, secrets = request.provider, request.secrets
    parser = ResponseParser(provider=name)
    try:
        async with open_response("POST", url, request) as response:
            if not stream:
                data = await read_json_body(response, request)
                provider.raise_error(data, secrets=secrets)
                if not isinstance(data, Mapping):
                    raise ResponseError(f"unexpected answer: {str(data)[:200]!r}", provider=name)
                for chunk in parser.feed(data) + parser.close(whole=True):
                    yield chunk
                return
            async for event in iter_sse(response, request):
                data = event_json(event, request)
                provider.raise_error(data, secrets=secrets)  # in-stream {"error": {…}}
                if not isinstance(data, Mapping):
                    raise ResponseError(f"unexpected event: {event.data[:200]!r}", provider=name)
                for chunk in parser.feed(data):
                    yield chunk
            for chunk in parser.close():
                yield chunk
    except BadRequestError as exc:
        if not _key_refused(exc.body):
            raise
        raise MissingAuthError(
            exc.message, status_code=exc.status_code, provider=name, body=exc.body
        ) from exc


class Gemini(GeminiEmbeddings, AsyncGeneratorProvider, ProviderModelMixin, RaiseErrorMixin):
    """Google's Gemini API with an API key."""

    label = "Google Gemini API"
    url = "https://ai.google.dev"
    working = True
    needs_auth = True
    supports_stream = True
    supports_system_message = True
    supports_message_history = True
    default_model = "gemini-2.5-flash"
    vision_models: ClassVar[tuple[str, ...]] = VISION_MODELS
    image_models: ClassVar[tuple[str, ...]] = IMAGE_MODELS
    api_base: ClassVar[str] = "https://generativelanguage.googleapis.com"
    api_version: ClassVar[str] = "v1beta"
    #: Environment variables holding the API key, the first one set wins.
    api_key_env: ClassVar[tuple[str, ...]] = ("GEMINI_API_KEY", "GOOGLE_API_KEY")

    @classmethod
    def resolve_api_key(cls, api_key: str | None = None) -> str:
        key = api_key or next((os.environ[v] for v in cls.api_key_env if os.environ.get(v)), None)
        if not key:
            raise MissingAuthError(
                f"{cls.__name__} needs an API key: set {' or '.join(cls.api_key_env)}, "
                "or pass api_key=…",
                provider=cls.__name__,
            )
        return key.strip()

    @classmethod
    def resolve_api_base(cls, api_base: str | None = None) -> str:
        """The base URL with its version segment (`…/v1beta`; one is added if missing)."""
        base = (api_base or cls.api_base).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise InvalidRequestError(
                f"api_base must be an http(s) URL, not {base!r}", provider=cls.__name__
            )
        last = base.rsplit("/", 1)[-1]
        return base if last.startswith("v1") else f"{base}/{cls.api_version}"

    @classmethod
    def get_model(cls, model: str, **kwargs: Any) -> str:
        """Default and aliases as usual; any model name is passed on (the API judges it)."""
        return cls.resolve_model(model.removeprefix("models/") if model else model, cls.models)

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
        api_key: str | None = None,
        api_base: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        max_tokens: int | None = None,
        stop: str | list[str] | None = None,
        thinking_budget: int | None = None,
        web_search: bool = False,
    ) -> AsyncResult:
        """Stream (or, with `stream=False`, fetch) an answer from `generateContent`."""
        key = cls.resolve_api_key(api_key)
        base = cls.resolve_api_base(api_base)
        model = cls.get_model(model)
        payload = build_payload(
            model, messages, media=load_media(media), tools=tools, tool_choice=tool_choice,
            response_format=response_format, temperature=temperature, top_p=top_p, top_k=top_k,
            max_tokens=max_tokens, stop=stop, seed=seed, thinking_budget=thinking_budget,
            web_search=web_search,
        )  # fmt: skip
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        headers = {"x-goog-api-key": key}
        if stream:
            headers["Accept"] = "text/event-stream"
        request = Request(
            provider=cls.__name__,
            headers=headers,
            json=payload,
            proxy=proxy,
            timeouts=Timeouts.from_param(timeout),
            max_retries=max_retries,
            secrets=(key,),
        )
        url = f"{base}/{model_path(model)}:{method}"
        async with aclosing(generate(cls, url, request, stream=stream)) as chunks:
            async for chunk in chunks:
                yield chunk
