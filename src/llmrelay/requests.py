"""g4f's `g4f.requests` names over llmrelay's transport, for providers ported from g4f.

A g4f provider that calls an official API ports by changing its imports::

    from llmrelay.requests import StreamSession, raise_for_status

    async with StreamSession(headers={"Authorization": f"Bearer {key}"}, proxy=proxy,
                             timeout=60) as session:
        async with session.post(url, json=payload) as response:
            await raise_for_status(response)
            async for line in response.iter_lines():
                ...

Requests go through `transport.http.open_response`: the pooled session, timeouts, retries of
what is safe to retry, proxies (http, https, socks5), and the one error table — a status of
400 or more raises the matching llmrelay error when the response opens (so `raise_for_status`
finds nothing left to raise on those; it still works on any response object with `status`
and `read()`, an aiohttp one included). Browser
impersonation (`impersonate=`) is refused: llmrelay talks only to official APIs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from .errors import UnsupportedParameterError, error_from_body
from .transport.http import Request, Timeouts, iter_sse, open_response, read_json

if TYPE_CHECKING:
    from .transport.exchange import Response

__all__ = ["StreamResponse", "StreamSession", "raise_for_status"]


class StreamResponse:
    """A response being received (g4f's `StreamResponse`): status, headers, and the body as
    text, JSON, lines, chunks or server-sent events."""

    def __init__(self, response: Response, request: Request) -> None:
        self._response, self._request = response, request
        self.status: int = response.status
        self.ok = response.status < 400
        self.headers = response.headers
        self.url = str(response.url)
        self.reason = response.reason

    async def read(self) -> bytes:
        return await self._response.read()

    async def text(self) -> str:
        return (await self._response.read()).decode(self._response.get_encoding())

    async def json(self, **kwargs: Any) -> Any:
        return await read_json(self._response, self._request)

    async def iter_lines(self) -> AsyncIterator[bytes]:
        """The body line by line, without line endings."""
        async for line in self._response.content:
            yield line.rstrip(b"\r\n")

    async def iter_content(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        if chunk_size is None:
            async for chunk in self._response.content.iter_any():
                yield chunk
        else:
            async for chunk in self._response.content.iter_chunked(chunk_size):
                yield chunk

    async def sse(self) -> AsyncIterator[dict[str, Any]]:
        """The JSON data of each server-sent event, until `[DONE]` (as g4f's)."""
        async for event in iter_sse(self._response, self._request):
            if event.data == "[DONE]":
                return
            if event.data:
                yield json.loads(event.data)


class StreamSession:
    """An HTTP session with default headers, proxy and timeout (g4f's `StreamSession`)."""

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        timeout: float | Timeouts | None = None,
        proxy: str | None = None,
        proxies: Mapping[str, str] | None = None,
        impersonate: str | None = None,
        max_retries: int = 0,
    ) -> None:
        if impersonate is not None:
            raise UnsupportedParameterError(
                "impersonate: llmrelay does not impersonate browsers (official APIs only)"
            )
        self.headers = dict(headers or {})
        self.timeouts = Timeouts.from_param(timeout)
        self.proxy = proxy or (proxies or {}).get("all") or (proxies or {}).get("https")
        self.max_retries = max_retries
        self.secrets = tuple(_credentials(self.headers))

    async def __aenter__(self) -> StreamSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None  # the pooled connections stay open for the next session

    @asynccontextmanager
    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | Timeouts | None = None,
    ) -> AsyncIterator[StreamResponse]:
        """Send a request; yield the response (an error status raises on the way)."""
        merged = {**self.headers, **(headers or {})}
        request = Request(
            provider="StreamSession",
            headers=merged,
            json=json,
            form=data,
            proxy=self.proxy,
            timeouts=self.timeouts if timeout is None else Timeouts.from_param(timeout),
            max_retries=self.max_retries,
            secrets=(*self.secrets, *_credentials(headers or {})),
        )
        async with open_response(method.upper(), url, request) as response:
            yield StreamResponse(response, request)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.request("DELETE", url, **kwargs)


def _credentials(headers: Mapping[str, str]) -> list[str]:
    """Header values that carry a credential, to be masked in every error."""
    secret = ("authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie")
    values = [v for k, v in headers.items() if k.lower() in secret]
    return values + [v.split(" ", 1)[1] for v in values if " " in v]


def raise_for_status(response: Any, message: str | None = None) -> Awaitable[None]:
    """Raise the llmrelay error for a response whose status is 400 or more (to be awaited,
    as g4f's): a `StreamResponse`, or any response with `status` and `read()`."""
    return _raise_for_status(response, message)


async def _raise_for_status(response: Any, message: str | None) -> None:
    status = int(getattr(response, "status", 0) or getattr(response, "status_code", 0) or 0)
    if status < 400:
        return
    raw = await response.read()
    text = raw.decode("utf-8", "replace")
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text.strip() or getattr(response, "reason", "") or ""
    raise error_from_body(message or body, status, headers=getattr(response, "headers", None))
