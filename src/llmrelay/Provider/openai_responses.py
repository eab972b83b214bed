"""OpenAI's own Responses API, `POST {api_base}/responses`, for the providers that have it
(`responses_api = True`: OpenAI, Azure OpenAI). The body is sent as given (the client builds
it from its allowed fields); the answer is passed on as JSON: the `Response` object, or with
`stream` each event of the SSE stream until `response.completed`, `.incomplete`, `.failed` or
`error`. A stream that ends before one of those raises `IncompleteResponseError`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from ..errors import IncompleteResponseError, ResponseError
from ..transport.http import (
    DEFAULT_MAX_RETRIES,
    Request,
    Timeouts,
    event_json,
    iter_sse,
    open_response,
    read_json,
)

__all__ = ["TERMINAL_EVENTS", "OpenAIResponses"]

TERMINAL_EVENTS = frozenset(
    {"response.completed", "response.incomplete", "response.failed", "error"}
)


class OpenAIResponses:
    """`create_response` for an OpenAI-compatible provider class (mixed into it)."""

    #: Whether the API has `/responses` (otherwise the client translates to chat).
    responses_api: ClassVar[bool] = False

    @classmethod
    async def create_response(
        cls,
        body: Mapping[str, Any],
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: float | Timeouts | None = None,
        proxy: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> AsyncIterator[dict[str, Any]]:
        """The `Response` dict, or with `body["stream"]` the event dicts."""
        owner: Any = cls
        name = owner.__name__
        base = owner.resolve_api_base(api_base)
        key = owner.resolve_api_key(api_key)
        stream = bool(body.get("stream"))
        request = Request(
            provider=name, headers=owner._headers(key, stream), json=dict(body), proxy=proxy,
            timeouts=Timeouts.from_param(timeout), max_retries=max_retries, secrets=(key,),
        )  # fmt: skip
        async with open_response("POST", f"{base}/responses", request) as response:
            if not stream:
                data = await read_json(response, request)
                owner.raise_error(data, secrets=(key,))
                if not isinstance(data, dict) or data.get("object") != "response":
                    raise ResponseError(f"unexpected answer: {str(data)[:200]!r}", provider=name)
                yield data
                return
            async for event in iter_sse(response, request):
                if event.data == "[DONE]":
                    break
                data = event_json(event, request)
                if not isinstance(data, dict) or not isinstance(data.get("type"), str):
                    raise ResponseError(f"unexpected event: {event.data[:200]!r}", provider=name)
                yield data
                if data["type"] in TERMINAL_EVENTS:
                    return
        raise IncompleteResponseError("the stream ended before response.completed", provider=name)
