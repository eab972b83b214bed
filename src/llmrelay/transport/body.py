"""Reading a 2xx response's body: whole JSON, server-sent events or NDJSON, each size-capped.

Every reader maps what can go wrong with the body to an llmrelay error: JSON that does not
parse is a `ResponseError`, a stream cut mid-event an `IncompleteResponseError`, and a body,
event or line over its cap a `ResponseTooLargeError`, raised while reading (the rest is never
buffered). Texts quoted from the body in an error are masked with the call's secrets, and the
decoder's own exception (which quotes the text unmasked) is not chained.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ..errors import IncompleteResponseError, ResponseError, ResponseTooLargeError, redact
from ..jsonio import loads
from .ndjson import NDJSONDecodeError, NDJSONDecoder, NDJSONLineTooLargeError
from .sse import ServerSentEvent, SSEDecoder, SSEEventTooLargeError

if TYPE_CHECKING:
    from .exchange import Response
    from .http import Request

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_EVENT_BYTES",
    "event_json",
    "iter_ndjson",
    "iter_sse",
    "read_body",
    "read_json",
]

#: A non-streamed body may not exceed this (decompressed); checked while reading.
MAX_BODY_BYTES = 32 << 20
#: One server-sent event or NDJSON line may not exceed this.
MAX_EVENT_BYTES = 16 << 20


def _quote(text: str, request: Request) -> str:
    return repr(redact(text[:200], request.secrets))


async def read_body(response: Response, request: Request, limit: int | None = None) -> bytes:
    """The whole body, refused with `ResponseTooLargeError` once it passes `limit` bytes
    (default `MAX_BODY_BYTES`)."""
    limit = limit or MAX_BODY_BYTES
    declared = response.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit, request)
    if declared is not None and response.headers.get("Content-Encoding") is None:
        return await response.read()  # exactly `declared` bytes, within the limit
    parts: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, request)
        parts.append(chunk)
    return b"".join(parts)


def _too_large(limit: int, request: Request) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"the response body is larger than {limit} bytes", provider=request.provider
    )


async def read_json(response: Response, request: Request) -> Any:
    """The whole body as JSON; a body that is not JSON is a `ResponseError`."""
    raw = await read_body(response, request)
    try:
        return loads(raw)
    except ValueError:
        snippet = _quote(raw[:200].decode("utf-8", "replace"), request)
        raise ResponseError(
            f"the response is not JSON: {snippet}",
            status_code=response.status,
            provider=request.provider,
        ) from None


def event_json(event: ServerSentEvent, request: Request) -> Any:
    """An event's data as JSON; data that is not JSON is a `ResponseError`."""
    try:
        return event.json()
    except ValueError:
        raise ResponseError(
            f"invalid JSON in a stream event: {_quote(event.data, request)}",
            provider=request.provider,
        ) from None


async def iter_sse(
    response: Response, request: Request, max_event_bytes: int | None = None
) -> AsyncIterator[ServerSentEvent]:
    """The server-sent events of the body; a stream cut mid-event raises
    `IncompleteResponseError` (a stream cut between events is the caller's to judge: only it
    knows the protocol's end marker). An event over `max_event_bytes` (default
    `MAX_EVENT_BYTES`) raises `ResponseTooLargeError`."""
    max_event_bytes = max_event_bytes or MAX_EVENT_BYTES
    decoder = SSEDecoder(max_event_bytes=max_event_bytes)
    async for chunk in response.content.iter_any():
        try:
            events = decoder.feed(chunk)
        except SSEEventTooLargeError:
            raise ResponseTooLargeError(
                f"a stream event is larger than {max_event_bytes} bytes", provider=request.provider
            ) from None
        for event in events:
            yield event
    if decoder.pending:
        raise IncompleteResponseError(
            "the stream ended in the middle of an event", provider=request.provider
        )


async def iter_ndjson(
    response: Response, request: Request, max_line_bytes: int | None = None
) -> AsyncIterator[Any]:
    """The JSON values of an NDJSON body, one per line; a line over `max_line_bytes` (default
    `MAX_EVENT_BYTES`) raises `ResponseTooLargeError`."""
    max_line_bytes = max_line_bytes or MAX_EVENT_BYTES
    decoder = NDJSONDecoder(max_line_bytes=max_line_bytes)
    try:
        async for chunk in response.content.iter_any():
            for value in decoder.feed(chunk):
                yield value
        for value in decoder.flush():
            yield value
    except NDJSONLineTooLargeError:
        raise ResponseTooLargeError(
            f"a stream line is larger than {max_line_bytes} bytes", provider=request.provider
        ) from None
    except NDJSONDecodeError as exc:
        raise ResponseError(
            f"invalid JSON line {exc.lineno} in the stream ({exc.reason}): "
            f"{_quote(exc.line, request)}",
            provider=request.provider,
        ) from None
