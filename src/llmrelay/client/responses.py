"""`client.responses.create(...)`: OpenAI's Responses API on every provider.

    response = client.responses.create(model="gpt-4o-mini", input="Hi", instructions="Be brief")
    print(response.output_text)
    for event in client.responses.create(model=…, input=…, stream=True):
        if event.type == "response.output_text.delta": print(event.delta, end="")

A provider with OpenAI's own endpoint (`responses_api`, e.g. `OpenAI`) gets the request as is
(`previous_response_id` works there: OpenAI keeps the conversation). Every other provider gets
it translated to chat messages and its chat chunks translated back (`responses_chat`);
`previous_response_id` is refused there (nothing upstream keeps state).

`response_events(provider, model, input, …)` is the one implementation, yielding plain dicts
(the `Response`, or the stream's events); the gateway calls it with the provider it chose.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequestError, LLMRelayError, UnsupportedParameterError
from ..protocols.openai.responses_chat import (
    CHAT_FIELDS,
    OPENAI_FIELDS,
    ResponseBuilder,
    input_to_messages,
    tool_choice_to_chat,
    tools_to_chat,
)
from ..providers.asyncio import run_sync, to_sync_generator
from ..providers.types import ProviderType

if TYPE_CHECKING:
    from .client import _Settings

__all__ = [
    "AsyncResponses",
    "Response",
    "ResponseEvent",
    "ResponseObject",
    "Responses",
    "create_response",
    "has_responses_api",
    "response_events",
]


class ResponseObject:
    """An OpenAI-shaped object over its JSON: fields as attributes, `model_dump()` the dict."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return _wrap(self._data[name], name)
        except KeyError:
            raise AttributeError(name) from None

    def model_dump(self) -> dict[str, Any]:
        return self._data

    to_dict = model_dump

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


class Response(ResponseObject):
    """OpenAI's `Response`; `output_text` joins the text of its message items."""

    __slots__ = ()

    @property
    def output_text(self) -> str:
        return "".join(
            part.get("text", "")
            for item in self._data.get("output") or ()
            if item.get("type") == "message"
            for part in item.get("content") or ()
            if part.get("type") == "output_text"
        )


class ResponseEvent(ResponseObject):
    """One streamed event; `.type` names it, `.response` (where present) is a `Response`."""

    __slots__ = ()


def _wrap(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return Response(value) if name == "response" else ResponseObject(value)
    if isinstance(value, list):
        return [_wrap(v, "") for v in value]
    return value


async def _translated(
    provider: ProviderType, model: str, input: Any, stream: bool,
    fields: dict[str, Any], params: dict[str, Any],
) -> AsyncGenerator[dict[str, Any], None]:  # fmt: skip
    from .client import AsyncClient

    for name in fields:
        if name not in CHAT_FIELDS:
            where = getattr(provider, "__name__", "this provider")
            raise UnsupportedParameterError(
                f"{name!r} needs OpenAI's Responses API; {where} is reached through chat"
                + (" (the llmrelay gateway keeps responses for it)"
                   if name == "previous_response_id" else ""),
                provider=getattr(provider, "__name__", None),
            )  # fmt: skip
    if fields.get("parallel_tool_calls") is False:
        raise UnsupportedParameterError("parallel_tool_calls=False is not supported over chat")
    messages = input_to_messages(input, fields.get("instructions"))
    chat: dict[str, Any] = dict(params)
    for ours, theirs in (("temperature", "temperature"), ("top_p", "top_p"),
                         ("max_output_tokens", "max_tokens"), ("user", "user")):  # fmt: skip
        if fields.get(ours) is not None:
            chat[theirs] = fields[ours]
    tools = tools_to_chat(fields.get("tools"))
    if tools:
        chat["tools"] = tools
    choice = tool_choice_to_chat(fields.get("tool_choice"))
    if choice is not None:
        chat["tool_choice"] = choice
    completions = AsyncClient(provider=provider).chat.completions  # its public path
    builder = ResponseBuilder(model, fields)
    if not stream:  # a whole chat completion: servers that stream no usage report it here
        completion = await completions.create(messages, model, **chat)
        builder.feed(_as_chunk(completion.model_dump()))
        builder.finish()
        yield builder.response
        return
    chunks = completions.create(
        messages, model, stream=True, stream_options={"include_usage": True}, **chat
    )
    started = False
    source = aiter(chunks)  # type: ignore[arg-type]
    async with aclosing(source):  # type: ignore[type-var]
        try:
            async for chunk in source:
                events = []
                if not started:
                    started = True
                    events = builder.start()
                for event in events + builder.feed(chunk.model_dump()):
                    yield event
        except LLMRelayError as exc:
            if not started:
                raise  # nothing sent yet: the caller sees the error itself
            for event in builder.fail(exc.message, type(exc).__name__):
                yield event
            return
    events = builder.finish()
    for event in (builder.start() if not started else []) + events:
        yield event


def _as_chunk(completion: dict[str, Any]) -> dict[str, Any]:
    """A whole `chat.completion` as one chunk for `ResponseBuilder.feed`."""
    choices = []
    for choice in completion.get("choices") or ():
        message = choice.get("message") or {}
        calls = [{**call, "index": i} for i, call in enumerate(message.get("tool_calls") or ())]
        delta = {"content": message.get("content"), "tool_calls": calls}
        choices.append({"delta": delta, "finish_reason": choice.get("finish_reason")})
    return {"choices": choices, "usage": completion.get("usage")}


def has_responses_api(provider: ProviderType) -> bool:
    """Whether `provider` gets OpenAI's own `/responses` (else the request goes over chat)."""
    return bool(getattr(provider, "responses_api", False)) and hasattr(provider, "create_response")


async def response_events(
    provider: ProviderType,
    model: str,
    input: Any,
    *,
    stream: bool = False,
    fields: dict[str, Any] | None = None,
    **params: Any,
) -> AsyncIterator[dict[str, Any]]:
    """The `Response` dict (one), or with `stream` the event dicts, from `provider`.

    `fields` are the request's Responses fields (instructions, tools, tool_choice, temperature,
    top_p, max_output_tokens, previous_response_id, …; None values dropped); `params` go to the
    provider (api_key, api_base, timeout, proxy, max_retries, …)."""
    if not isinstance(model, str):
        raise InvalidRequestError(f"model must be a string, not {type(model).__name__}")
    fields = {k: v for k, v in (fields or {}).items() if v is not None}
    native = getattr(provider, "create_response", None)
    if native is not None and has_responses_api(provider):
        unknown = sorted(set(fields) - OPENAI_FIELDS)
        if unknown:
            raise UnsupportedParameterError(f"unsupported Responses field {unknown[0]!r}")
        body = {"model": model, "input": input, **fields, **({"stream": True} if stream else {})}
        if not model:
            body["model"] = getattr(provider, "default_model", None) or ""
        accepted = inspect.signature(native).parameters
        for key in params:
            if key not in accepted:
                raise UnsupportedParameterError(
                    f"{provider.__name__} does not support the parameter {key!r} for responses",
                    provider=provider.__name__,
                )
        async with aclosing(native(body, **params)) as answers:
            async for answer in answers:
                yield answer
        return
    async with aclosing(_translated(provider, model, input, stream, fields, params)) as events:
        async for event in events:
            yield event


async def _events(source: AsyncIterator[dict[str, Any]]) -> AsyncGenerator[ResponseEvent, None]:
    async with aclosing(source):  # type: ignore[type-var]
        async for event in source:
            yield ResponseEvent(event)


async def create_response(
    provider: ProviderType, model: str, input: Any, *, stream: bool = False,
    fields: dict[str, Any] | None = None, **params: Any,
) -> Response | AsyncGenerator[ResponseEvent, None]:  # fmt: skip
    """`response_events` as objects: a `Response`, or an async iterator of `ResponseEvent`."""
    source = response_events(provider, model, input, stream=stream, fields=fields, **params)
    if stream:
        return _events(source)
    async with aclosing(source):  # type: ignore[type-var]
        async for answer in source:
            return Response(answer)
    raise InvalidRequestError("no response")  # pragma: no cover


class AsyncResponses:
    """`client.responses` of `AsyncClient`."""

    def __init__(self, settings: _Settings) -> None:
        self._settings = settings

    async def create(
        self,
        *,
        model: str = "",
        input: Any,
        stream: bool = False,
        provider: ProviderType | str | None = None,
        instructions: str | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_output_tokens: int | None = None,
        previous_response_id: str | None = None,
        **params: Any,
    ) -> Response | AsyncGenerator[ResponseEvent, None]:
        """A `Response`, or with `stream=True` an async iterator of `ResponseEvent`s.
        OpenAI's other Responses fields (`store`, `metadata`, `reasoning`, …) are taken too;
        the rest of `params` go to the provider (`api_key`, `timeout`, …)."""
        settings = self._settings
        chosen, extra = settings.choose(provider)
        for key, value in (("proxy", settings.proxy), ("timeout", settings.timeout),
                           ("max_retries", settings.max_retries)):  # fmt: skip
            if value is not None:
                extra[key] = value
        fields = dict(params.pop("fields", None) or {})
        fields.update({k: params.pop(k) for k in OPENAI_FIELDS & set(params)})
        fields.update(instructions=instructions, tools=tools, tool_choice=tool_choice,
                      temperature=temperature, top_p=top_p, max_output_tokens=max_output_tokens,
                      previous_response_id=previous_response_id)  # fmt: skip
        return await create_response(chosen, model, input, stream=stream, fields=fields,
                                     **{**extra, **params})  # fmt: skip


class Responses:
    """`client.responses` of `Client`: the async one through the bridge."""

    def __init__(self, inner: AsyncResponses) -> None:
        self._inner = inner

    def create(self, **params: Any) -> Response | Iterator[ResponseEvent]:
        result = run_sync(self._inner.create(**params))
        if isinstance(result, Response):
            return result
        return to_sync_generator(result)
