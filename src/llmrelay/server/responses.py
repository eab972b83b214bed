"""`POST /v1/responses`: OpenAI's Responses API over every provider, through
`llmrelay.client.responses.response_events` with the provider the router chose. OpenAI and
Azure OpenAI get their own `/responses`; every other provider is reached through chat.

`previous_response_id` is answered from the gateway's `ResponseStore` for providers reached
through chat: the earlier turn's input and output items go before the new input. OpenAI's own
endpoint gets the id as is, for the caller that made that response. Either way an id another
caller made, or one not (or no longer) kept, is a 404 naming it. `store: false` keeps nothing.

Streams are OpenAI's SSE events (`event:` lines); a stream cut after its first event ends with
an `error` event, never `response.completed`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from ..errors import redact
from ..protocols.fields import FieldError
from ..protocols.openai.gateway_responses import (
    EventEncoder,
    ResponsesRequest,
    conversation,
    input_items,
    parse_responses,
)
from ..providers.types import BaseRetryProvider
from .chat import admit, fail, stream_events
from .failures import Failure, failure_for
from .openai_chat import SURFACE
from .response_store import ResponseStore, caller_scope
from .routing import accepts
from .streaming import DisconnectWatch, send_json

if TYPE_CHECKING:
    from .app import Exchange, Gateway

__all__ = ["serve_responses"]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _not_found(previous: str) -> Failure:
    return Failure(
        404, "invalid_request_error", f"Previous response with id {previous[:100]!r} not found.",
        "previous_response_id", code="previous_response_not_found",
    )  # fmt: skip


def _continued(
    store: ResponseStore, caller: str, request: ResponsesRequest, native: bool
) -> tuple[str | list[Any], dict[str, Any]] | Failure:
    """The input and fields to send: a kept earlier turn expanded into the input, or (for
    OpenAI's own endpoint, which keeps it) its id passed on."""
    previous = request.fields.get("previous_response_id")
    if previous is None:
        return request.input, request.fields
    stored = store.get(caller, previous)
    if stored is None:
        return _not_found(previous)
    if stored.items is None:
        if native:
            return request.input, request.fields
        raise FieldError(
            "previous_response_id",
            f"previous_response_id: {previous[:100]!r} was made by {stored.provider}'s own "
            "Responses API, which keeps it: only it can continue that conversation",
        )
    fields = {k: v for k, v in request.fields.items() if k != "previous_response_id"}
    return conversation(stored.items, request.input), fields


class _Turn:
    """One request's bookkeeping: what to keep when its response is finished."""

    def __init__(
        self, gateway: Gateway, exchange: Exchange, caller: str, provider: str,
        sent: str | list[Any] | None, previous: str | None, keep: bool,
    ) -> None:  # fmt: skip
        self.gateway, self.exchange, self.caller, self.provider = (
            gateway,
            exchange,
            caller,
            provider,
        )
        self.sent = sent  # the input sent over chat (None: OpenAI's endpoint keeps it)
        self.previous = previous  # the id the gateway expanded (shown in the response)
        self.keep = keep

    def finished(self, response: dict[str, Any]) -> None:
        usage = response.get("usage") or {}
        self.exchange.prompt_tokens = int(usage.get("input_tokens") or 0)
        self.exchange.completion_tokens = int(usage.get("output_tokens") or 0)
        if not self.keep or not isinstance(response.get("id"), str):
            return
        if response.get("status") not in ("completed", "incomplete"):
            return
        items = None
        if self.sent is not None:
            items = [*input_items(self.sent), *(response.get("output") or ())]
        self.gateway.responses.put(self.caller, response["id"], self.provider, items)

    def shown(self, event: dict[str, Any]) -> dict[str, Any]:
        """An event as the caller sees it: the id it continued, keys masked in errors."""
        response = event.get("response")
        if self.previous is not None and isinstance(response, dict):
            response["previous_response_id"] = self.previous
        if event.get("type") == "error":
            event["message"] = redact(str(event.get("message")), self.gateway.secrets)
            self.gateway.metrics.stream_errors += 1
            self.exchange.error = str(event.get("code") or "error")
        elif isinstance(response, dict) and isinstance(response.get("error"), dict):
            error = response["error"]
            error["message"] = redact(str(error.get("message")), self.gateway.secrets)
        return event


async def _encoded(
    events: AsyncIterator[dict[str, Any]], encoder: EventEncoder, turn: _Turn
) -> AsyncGenerator[bytes, None]:
    async with aclosing(events):  # type: ignore[type-var]
        async for event in events:
            yield encoder.encode(turn.shown(event))
            if encoder.final is not None:
                turn.finished(encoder.final)
                encoder.final = None


async def serve_responses(
    gateway: Gateway, exchange: Exchange, scope: dict[str, Any], raw: bytes, receive: Any,
    send: Any,
) -> None:  # fmt: skip
    from ..client.responses import has_responses_api, response_events
    from ..providers.routing import auto

    try:
        request = parse_responses(raw, gateway.config.allowed_fields)
        exchange.model = request.model
        provider, model = gateway.router.resolve(request.model, request.provider)
        chosen = provider or auto
        native = has_responses_api(chosen)
        caller = caller_scope(scope["headers"])
        continued = _continued(gateway.responses, caller, request, native)
    except Exception as exc:
        return await fail(exchange, send, SURFACE, failure_for(exc, gateway.secrets))
    if isinstance(continued, Failure):
        return await fail(exchange, send, SURFACE, continued)
    input, fields = continued
    out = fields.get("max_output_tokens")
    if not await admit(gateway, exchange, send, SURFACE, request.model, model, len(raw), out):
        return
    params = dict(request.params)
    for name, value in gateway.upstream_options.items():
        if name not in params and accepts(chosen, name):
            params[name] = value
    # A failover list or the model-name router: which provider answers is not known here.
    label = None if isinstance(chosen, BaseRetryProvider) else getattr(chosen, "__name__", None)
    expanded = (
        None if "previous_response_id" in fields else request.fields.get("previous_response_id")
    )
    keep = request.fields.get("store") is not False
    turn = _Turn(gateway, exchange, caller, label or "-", None if native else input, expanded, keep)
    watch = DisconnectWatch(receive)
    try:
        events = response_events(chosen, model, input, stream=request.stream, fields=fields,
                                 **params)  # fmt: skip
        if request.stream:
            encoder = EventEncoder()
            surface = dataclasses.replace(
                SURFACE, end=b"", error_event=lambda f: encoder.error(f.message, f.kind)
            )
            exchange.provider = label
            return await stream_events(gateway, exchange, surface,
                                       _encoded(events, encoder, turn), send)  # fmt: skip
        async with aclosing(events):  # type: ignore[type-var]
            response = await anext(aiter(events))
        if turn.previous is not None:
            response["previous_response_id"] = turn.previous
        turn.finished(response)
        exchange.provider = label
        exchange.status = 200
        await send_json(send, 200, _dumps(response).encode())
    except asyncio.CancelledError:
        if not watch.absorb():
            raise
        exchange.status = 499  # the client went away; its upstream request was cancelled
        gateway.metrics.disconnects += 1
    except Exception as exc:
        if exchange.status:  # after the answer began: a bug, logged by the app
            raise
        await fail(exchange, send, SURFACE, failure_for(exc, gateway.secrets))
    finally:
        watch.close()
        gateway.limit.release()
