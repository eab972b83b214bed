"""One pipeline for both chat surfaces (`openai_chat`, `anthropic_messages`): parse, route,
take an in-flight slot, call the client layer, answer in the surface's wire format.

Before the first byte of an answer, any failure — the provider's, the routing's, the caller's
— is an HTTP error in the surface's shape with the status `failures` gives it (the client's
failover has had its chance by then). After it, a stream ends with the surface's error event.

With a virtual key whose response cache is on (`team.cache`), a hit is answered from the
stored answer through the same assembler and encoders, with no upstream request; a miss
keeps the complete answer before its last byte goes out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..client.client import AsyncStream
from ..errors import InvalidMessagesError
from ..jsonio import dumps, loads
from ..protocols.fields import FieldError
from ..protocols.openai.gateway import ChatRequest
from .failures import Failure, failure_for
from .routing import accepts
from .streaming import DisconnectWatch, send_json, send_stream

if TYPE_CHECKING:
    from ..client.types import ChatCompletion, ChatCompletionChunk
    from .app import Exchange, Gateway
    from .team.cache import Plan
    from .team.cache_entry import Capture, Entry

__all__ = ["Surface", "admit", "fail", "send_failure", "serve_chat", "stream_events"]


@dataclass(frozen=True, slots=True)
class Surface:
    """What differs between the OpenAI and the Anthropic surface."""

    name: str
    parse: Callable[[Any, Collection[str]], ChatRequest]
    soft: frozenset[str]  # parameters dropped for providers that lack them
    answer: Callable[[ChatCompletion], dict[str, Any]]
    encoder: Callable[[ChatRequest], Callable[[ChatCompletionChunk], bytes]]
    end: bytes  # after the last event
    error_body: Callable[[Failure], dict[str, Any]]
    error_event: Callable[[Failure], bytes]


async def send_failure(
    send: Any, surface: Surface, failure: Failure, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = dumps(surface.error_body(failure))
    await send_json(send, failure.status, body, failure.headers() + (extra or []))


def _params(
    request: ChatRequest, provider: Any, soft: frozenset[str], options: dict[str, Any]
) -> dict[str, Any]:
    """The request's parameters, without soft ones the provider lacks, plus the gateway's
    upstream options (timeout, retries) for providers that take them. Routed by the client
    (`provider` None), soft parameters are dropped and options go to built-in providers,
    which all take them."""
    params = dict(request.params)
    for name, value in options.items():
        if name not in params and (provider is None or accepts(provider, name)):
            params[name] = value
    if not soft.intersection(params):
        return params
    if provider is None:
        return {k: v for k, v in params.items() if k not in soft}
    return {k: v for k, v in params.items() if k not in soft or accepts(provider, k)}


async def serve_chat(
    gateway: Gateway, exchange: Exchange, surface: Surface, raw: bytes, receive: Any, send: Any
) -> None:
    try:
        body = loads(raw)
    except ValueError as exc:
        failure = Failure(400, "invalid_request_error", f"the body is not valid JSON: {exc}")
        return await fail(exchange, send, surface, failure)
    try:
        request = surface.parse(body, gateway.config.allowed_fields)
        exchange.model = request.model
        provider, model = gateway.router.resolve(request.model, request.provider)
    except Exception as exc:
        return await fail(exchange, send, surface, failure_for(exc, gateway.secrets))
    params = _params(request, provider, surface.soft, gateway.upstream_options)
    out = request.params.get("max_tokens")
    ask = None  # the response cache's part, for a virtual key (team.cache once admitted)
    if exchange.team is not None and gateway.team is not None:
        ask = gateway.team.cache.plan(exchange.team, request, provider, model)
    if not await admit(gateway, exchange, send, surface, request.model, model, len(raw), out, ask):
        return
    plan = exchange.team.cache if exchange.team is not None else None
    watch = DisconnectWatch(receive)
    try:
        if plan is not None and plan.entry is not None:  # a hit: no upstream request
            await _replay(gateway, exchange, surface, request, plan.entry, send)
        else:
            await _answer(gateway, exchange, surface, request, provider, model, params, plan, send)
    except asyncio.CancelledError:
        if not watch.absorb():
            raise
        exchange.status = 499  # the client went away; its upstream request was cancelled
        gateway.metrics.disconnects += 1
    finally:
        watch.close()
        gateway.limit.release()


async def fail(exchange: Exchange, send: Any, surface: Surface, failure: Failure) -> None:
    """Answer `failure` (before any byte of an answer was sent)."""
    exchange.status = failure.status
    await send_failure(send, surface, failure)


AT_LIMIT = Failure(503, "server_error", "the gateway is at its in-flight limit", retry_after=1.0)


async def admit(
    gateway: Gateway, exchange: Exchange, send: Any, surface: Surface,
    requested: str, model: str, size: int, max_tokens: Any = None, plan: Plan | None = None,
) -> bool:  # fmt: skip
    """A virtual key's limits and budget (the team layer; with a chat request's response
    cache `plan`, its lookup too), then an in-flight slot, which the caller releases. False
    when refused: the refusal has been answered."""
    if exchange.team is not None and gateway.team is not None:
        refused = await gateway.team.admit(exchange, requested, model, size, max_tokens, plan)
        if refused is not None:
            await fail(exchange, send, surface, refused)
            return False
    if not await gateway.limit.acquire():
        gateway.metrics.rejected += 1
        await fail(exchange, send, surface, AT_LIMIT)
        return False
    return True


async def _answer(
    gateway: Gateway,
    exchange: Exchange,
    surface: Surface,
    request: ChatRequest,
    provider: Any,
    model: str,
    params: dict[str, Any],
    plan: Plan | None,
    send: Any,
) -> None:
    create = gateway.client.chat.completions.create
    try:
        if not request.stream:
            answer = create(messages=request.messages, model=model, provider=provider, **params)
            assert not isinstance(answer, AsyncStream)
            completion = await answer
            exchange.note(completion.provider, completion.usage)
            if plan is not None and plan.write:
                await plan.keep(completion)
            headers = _provider_header(completion.provider)
            data = dumps(surface.answer(completion))
            exchange.status = 200
            return await send_json(send, 200, data, headers)
        # Virtual keys are billed from the upstream's usage: ask for it (the caller's encoder
        # still leaves it out when the caller did not ask).
        wanted = request.include_usage or exchange.team is not None
        options = {"include_usage": True} if wanted else None
        stream = create(
            messages=request.messages,
            model=model,
            provider=provider,
            stream=True,
            stream_options=options,
            **params,
        )
        assert isinstance(stream, AsyncStream)
        capture = plan.capture() if plan is not None and plan.write else None
        events = _events(aiter(stream), surface.encoder(request), exchange, capture)
    except Exception as exc:
        failure = failure_for(_with_param(exc), gateway.secrets)
        return await fail(exchange, send, surface, failure)
    await stream_events(gateway, exchange, surface, events, send)


async def stream_events(
    gateway: Gateway,
    exchange: Exchange,
    surface: Surface,
    events: AsyncGenerator[bytes, None],
    send: Any,
) -> None:
    """Send encoded `events`: an HTTP error in `surface`'s shape if the first one fails, else
    a stream that ends with `surface.end`, or with its error event if it fails later."""
    try:
        try:
            first = b""
            while not first:
                first = await anext(events)
        except StopAsyncIteration:
            first = b""
        except Exception as exc:
            failure = failure_for(_with_param(exc), gateway.secrets)
            return await fail(exchange, send, surface, failure)
        exchange.status = 200

        def on_error(exc: BaseException) -> bytes:
            gateway.metrics.stream_errors += 1
            exchange.error = type(exc).__name__
            return surface.error_event(failure_for(exc, gateway.secrets))

        if first:
            await send_stream(
                send, first, events, surface.end, on_error, _provider_header(exchange.provider)
            )
        else:  # a stream that ended without a single event
            await send_stream(send, b"", _nothing(), surface.end, on_error)
    finally:
        await events.aclose()


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover


async def _replay(
    gateway: Gateway,
    exchange: Exchange,
    surface: Surface,
    request: ChatRequest,
    entry: Entry,
    send: Any,
) -> None:
    """A cache hit, in the surface's shape (a stream when asked): no upstream request."""
    from .team.cache_entry import chunks_of, completion_of

    if not request.stream:
        completion = completion_of(entry)
        exchange.note(completion.provider, None)
        data = dumps(surface.answer(completion))
        exchange.status = 200
        return await send_json(send, 200, data, _provider_header(completion.provider))
    chunks = chunks_of(entry, request.include_usage)
    events = _events(chunks, surface.encoder(request), exchange)
    await stream_events(gateway, exchange, surface, events, send)


async def _events(
    chunks: AsyncIterator[ChatCompletionChunk],
    encode: Callable[[ChatCompletionChunk], bytes],
    exchange: Exchange,
    capture: Capture | None = None,
) -> AsyncGenerator[bytes, None]:
    try:
        async for chunk in chunks:
            if chunk.usage is not None or (chunk.choices and chunk.choices[0].finish_reason):
                exchange.note(chunk.provider, chunk.usage)
            elif exchange.provider is None and chunk.provider:
                exchange.provider = chunk.provider
            if capture is not None:
                capture.add(chunk)
            yield encode(chunk)
        if capture is not None:  # complete: kept before the stream's end goes out
            await capture.done()
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def _with_param(exc: Exception) -> Exception:
    """Validation errors of the client layer name the field of the request they are about."""
    if isinstance(exc, InvalidMessagesError) and not isinstance(exc, FieldError):
        return FieldError("messages", exc.message)
    return exc


def _provider_header(provider: str | None) -> list[tuple[bytes, bytes]]:
    if not provider or not provider.isascii() or not provider.isprintable():
        return []
    return [(b"x-llmrelay-provider", provider.encode())]
