"""`Client` and `AsyncClient`, shaped like the official `openai` SDK's.

    client = AsyncClient()                        # or Client(), or Client(base_url=…, api_key=…)
    completion = await client.chat.completions.create(model="llama-3.3-70b", messages=[…])
    print(completion.choices[0].message.content)

Which provider answers: `provider=` (a class, a failover provider or a name), else the
client's default provider, else — with `base_url` — that OpenAI-compatible endpoint, else —
with only `api_key` — OpenAI (as the OpenAI SDK), else the model name routes
(`providers.routing`: configured providers for the model, local servers listing it, the local
model when nothing is configured), with failover. The client's `api_key` goes only to the
provider it was given for, never to providers picked by model name.

`Client` is `AsyncClient` run through the sync bridge: one implementation.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Iterator
from contextlib import aclosing
from typing import Any

from ..errors import InvalidRequestError, ProviderNotFoundError
from ..providers.asyncio import run_sync, to_async_iterator, to_sync_generator
from ..providers.messages import validate_messages
from ..providers.registry import provider_by_name
from ..providers.response import JsonConversation, ResponseType
from ..providers.routing import auto
from ..providers.types import BaseProvider, BaseRetryProvider, ProviderType
from .assemble import Answer, assemble_chunks
from .embeddings import AsyncEmbeddings, Embeddings
from .images import AsyncImages, Images
from .responses import AsyncResponses, Responses
from .types import ChatCompletion, ChatCompletionChunk, Model, ModelList

__all__ = ["AsyncClient", "AsyncStream", "Client"]

_UNSET: Any = object()


@functools.lru_cache(maxsize=256)
def _declares_conversation(provider: type[BaseProvider]) -> bool:
    get_parameters = getattr(provider, "get_parameters", None)
    return get_parameters is not None and "conversation" in get_parameters()


def _takes_conversation(provider: ProviderType) -> bool:
    """Whether the provider keeps conversations itself (declares a `conversation` parameter).
    Cached for provider classes only: a failover provider made per call is not kept alive."""
    return isinstance(provider, type) and _declares_conversation(provider)


def _history(conversation: Any) -> list[dict[str, Any]]:
    if conversation is None:
        return []
    history = conversation.get("messages") if isinstance(conversation, dict) else None
    if history is None:
        history = getattr(conversation, "messages", None)
    if not isinstance(history, list):
        raise InvalidRequestError(
            "conversation must be the `conversation` of an earlier response "
            "(or an object with its 'messages')"
        )
    return history


class _Settings:
    """A client's defaults; per-call arguments override them."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        proxy: str | None,
        timeout: float | None,
        max_retries: int | None,
        provider: ProviderType | str | None,
    ) -> None:
        self.api_key = api_key
        self.base_url = base_url
        self.proxy = proxy
        self.timeout = timeout
        self.max_retries = max_retries
        self.provider = provider

    def choose(self, provider: ProviderType | str | None) -> tuple[ProviderType, dict[str, Any]]:
        """The provider for this call and the client-level arguments it receives.

        As the OpenAI SDK: a client given `base_url` talks to that endpoint, one given only
        `api_key` talks to OpenAI with it; otherwise the model name routes (`routing.auto`).
        The client's key and base URL go only to the provider they were given for."""
        chosen = provider if provider is not None else self.provider
        if chosen is None:
            if self.base_url is not None:
                chosen = "OpenaiTemplate"
            elif self.api_key is not None:
                chosen = "OpenAI"
            else:
                return auto, {}
        if isinstance(chosen, str):
            chosen = provider_by_name(chosen)
        if not (isinstance(chosen, BaseRetryProvider) or
                (isinstance(chosen, type) and issubclass(chosen, BaseProvider))):  # fmt: skip
            raise ProviderNotFoundError(f"not a provider: {chosen!r}")
        extra: dict[str, Any] = {}
        if self.api_key is not None:
            extra["api_key"] = self.api_key
        if self.base_url is not None:
            extra["api_base"] = self.base_url
        return chosen, extra


class AsyncStream:
    """A streamed completion: `async for` it directly (g4f) or after `await` (OpenAI)."""

    def __init__(self, chunks: AsyncIterator[ChatCompletionChunk]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self._chunks

    def __await__(self) -> Any:
        async def itself() -> AsyncStream:
            return self

        return itself().__await__()

    async def aclose(self) -> None:
        await self._chunks.aclose()  # type: ignore[attr-defined]


class _AsyncCompletions:
    def __init__(self, settings: _Settings) -> None:
        self._settings = settings

    def create(
        self,
        messages: list[dict[str, Any]] = _UNSET,
        model: str = "",
        *,
        provider: ProviderType | str | None = None,
        stream: bool = False,
        stream_options: dict[str, Any] | None = None,
        conversation: Any = None,
        **params: Any,
    ) -> Coroutine[Any, Any, ChatCompletion] | AsyncStream:
        """A `ChatCompletion` (awaited), or with `stream=True` an `AsyncStream` of chunks.

        `stream_options={"include_usage": True}` adds OpenAI's last chunk without choices
        carrying the usage (the finishing chunk carries it in any case)."""
        if messages is _UNSET:
            raise InvalidRequestError("create() needs messages=[…]")
        validate_messages(messages)
        if not isinstance(model, str):
            raise InvalidRequestError(f"model must be a string, not {type(model).__name__}")
        if stream_options is not None and (not stream or not isinstance(stream_options, dict)):
            raise InvalidRequestError("stream_options is only for stream=True, as a dict")
        include_usage = bool((stream_options or {}).get("include_usage"))
        call = _Call(self._settings, messages, model, provider, stream, conversation, params)
        if stream:
            return AsyncStream(call.stream(include_usage))
        return call.complete()


class _Call:
    """One `create` call: chooses the provider, sends, and assembles what comes back."""

    def __init__(
        self,
        settings: _Settings,
        messages: list[dict[str, Any]],
        model: str,
        provider: ProviderType | str | None,
        stream: bool,
        conversation: Any,
        params: dict[str, Any],
    ) -> None:
        self.settings, self.messages, self.model = settings, messages, model
        self.provider, self.stream_wanted = provider, stream
        self.conversation, self.params = conversation, params
        self.sent = messages
        self.stateful = False

    async def _start(self) -> tuple[AsyncGenerator[str | ResponseType, None], Answer]:
        settings = self.settings
        chosen, extra = settings.choose(self.provider)
        for name, value in (("proxy", settings.proxy), ("timeout", settings.timeout),
                            ("max_retries", settings.max_retries)):  # fmt: skip
            if value is not None:
                extra[name] = value
        arguments = {**extra, **self.params}
        self.stateful = _takes_conversation(chosen)
        if self.stateful and self.conversation is not None:
            arguments["conversation"] = self.conversation
        elif not self.stateful:
            self.sent = [*_history(self.conversation), *self.messages]
        create = chosen.get_async_create_function()
        stream_kwargs = {"stream": self.stream_wanted} if chosen.supports_stream else {}
        result = create(self.model, self.sent, **stream_kwargs, **arguments)
        source = result if hasattr(result, "aclose") else to_async_iterator(result)
        scoped = None if isinstance(chosen, BaseRetryProvider) else chosen
        answer = Answer(self.model, scoped, stream=self.stream_wanted,
                        max_tokens=self.params.get("max_tokens"))  # fmt: skip
        return source, answer

    def _remember(self, answer: Answer) -> None:
        if not self.stateful:  # client-side history, to pass back as `conversation`
            answer.conversation = _remember(self.sent, answer)

    async def complete(self) -> ChatCompletion:
        source, answer = await self._start()
        async with aclosing(source):
            async for item in source:
                answer.add(item)
                if answer.capped:
                    break
        self._remember(answer)
        return answer.completion()

    def stream(self, include_usage: bool) -> AsyncGenerator[ChatCompletionChunk, None]:
        return assemble_chunks(self._start, include_usage=include_usage, on_end=self._remember)


def _remember(sent: list[dict[str, Any]], answer: Answer) -> JsonConversation:
    """Client-side history: what was sent plus the answer, to pass back as `conversation`."""
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(answer.text) or None}
    if answer.tool_calls:
        reply["tool_calls"] = [call.model_dump() for call in answer.tool_calls]
    elif reply["content"] is None:
        reply["content"] = ""
    return JsonConversation(messages=[*sent, reply])


class _AsyncChat:
    def __init__(self, settings: _Settings) -> None:
        self.completions = _AsyncCompletions(settings)


class _AsyncModels:
    def __init__(self, settings: _Settings) -> None:
        self._settings = settings

    async def list(self, provider: ProviderType | str | None = None) -> ModelList:
        """The models of the chosen provider (or `base_url`), else those llmrelay routes."""
        from .. import models

        settings = self._settings
        if provider is None and settings.choose(None)[0] is auto:
            return ModelList([Model(m.name, owned_by=m.base_provider) for m in models.MODELS])
        chosen, extra = settings.choose(provider)
        fetch = getattr(chosen, "get_models_async", None)
        names = await fetch(**extra) if fetch else chosen.get_models()  # type: ignore[union-attr]
        owner = getattr(chosen, "__name__", "")
        return ModelList([Model(name, owned_by=owner) for name in names])


class AsyncClient:
    """The async client: `chat.completions.create`, `images.generate`, `models.list`."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        proxy: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        provider: ProviderType | str | None = None,
        image_provider: ProviderType | str | None = None,
    ) -> None:
        settings = _Settings(api_key, base_url, proxy, timeout, max_retries, provider)
        self.chat = _AsyncChat(settings)
        self.images = AsyncImages(settings, image_provider)
        self.models = _AsyncModels(settings)
        self.embeddings = AsyncEmbeddings(settings)
        self.responses = AsyncResponses(settings)


# --- the sync client: the async one through the bridge -----------------------------------------


class _Completions:
    def __init__(self, inner: _AsyncCompletions) -> None:
        self._inner = inner

    def create(
        self, messages: list[dict[str, Any]] = _UNSET, model: str = "", **params: Any
    ) -> ChatCompletion | Iterator[ChatCompletionChunk]:
        """A `ChatCompletion`, or with `stream=True` an iterator of `ChatCompletionChunk`."""
        result = self._inner.create(messages, model, **params)
        if isinstance(result, AsyncStream):
            return to_sync_generator(aiter(result))
        return run_sync(result)


class _Chat:
    def __init__(self, inner: _AsyncChat) -> None:
        self.completions = _Completions(inner.completions)


class _Models:
    def __init__(self, inner: _AsyncModels) -> None:
        self._inner = inner

    def list(self, provider: ProviderType | str | None = None) -> ModelList:
        return run_sync(self._inner.list(provider))


class Client:
    """The sync client, usable anywhere (inside a running event loop too)."""

    def __init__(self, api_key: str | None = None, base_url: str | None = None, **options: Any):
        inner = AsyncClient(api_key, base_url, **options)
        self.chat = _Chat(inner.chat)
        self.images = Images(inner.images)
        self.models = _Models(inner.models)
        self.embeddings = Embeddings(inner.embeddings)
        self.responses = Responses(inner.responses)
