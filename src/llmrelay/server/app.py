"""The ASGI app: routes, the key check, the body limit, one access-log line per request.

A bare ASGI app (no framework): on this path every microsecond is throughput, and the few
routes need nothing a framework adds. `create_app(config)` builds it; uvicorn serves it.

Every route but `GET`/`HEAD /health` needs a gateway key (`Authorization: Bearer <key>` or
`x-api-key: <key>`), compared in constant time, before anything else looks at the request:
an unknown path, a method a route does not take, a path with a trailing slash or another
case all answer 401 without a key. Bodies are counted as they arrive: a `Content-Length`
over the limit is refused before any of it is read, a longer body as soon as it passes it.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import redact
from . import anthropic_messages, openai_chat
from .chat import Surface, send_failure, serve_chat
from .config import GatewayConfig
from .embeddings import serve_embeddings
from .failures import Failure
from .images import serve_images
from .limits import InflightLimit
from .metrics import Metrics
from .models import HEALTH, Catalog
from .openapi import openapi_spec
from .response_store import ResponseStore
from .responses import serve_responses
from .routing import Router
from .streaming import send_json
from .team import Team, TeamRequest
from .team.admin import ADMIN_PATHS, serve_admin

__all__ = ["Exchange", "Gateway", "create_app"]

access_log = logging.getLogger("llmrelay.server.access")
log = logging.getLogger("llmrelay.server")

#: path → (route label, methods it takes)
_ROUTES: dict[str, tuple[str, tuple[str, ...]]] = {
    "/v1/chat/completions": ("/v1/chat/completions", ("POST",)),
    "/v1/messages": ("/v1/messages", ("POST",)),
    "/v1/images/generations": ("/v1/images/generations", ("POST",)),
    "/v1/images/edits": ("/v1/images/edits", ("POST",)),
    "/v1/embeddings": ("/v1/embeddings", ("POST",)),
    "/v1/responses": ("/v1/responses", ("POST",)),
    "/v1/models": ("/v1/models", ("GET", "HEAD")),
    "/v1/providers": ("/v1/providers", ("GET", "HEAD")),
    "/metrics": ("/metrics", ("GET", "HEAD")),
    "/openapi.json": ("/openapi.json", ("GET", "HEAD")),
    "/health": ("/health", ("GET", "HEAD")),
}
_MODEL_PREFIX = "/v1/models/"
_BEARER = b"bearer "


class Exchange:
    """What the access log and the metrics record about one request."""

    __slots__ = (
        "cache",
        "completion_tokens",
        "error",
        "model",
        "prompt_tokens",
        "provider",
        "route",
        "start",
        "status",
        "team",
    )

    def __init__(self, route: str) -> None:
        self.route = route
        self.start = time.perf_counter()
        self.status = 0
        self.model: str | None = None
        self.provider: str | None = None
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.error: str | None = None
        self.team: TeamRequest | None = None  # a virtual key's request (team layer)
        self.cache: str | None = None  # the response cache's verdict: hit, miss, refresh, bypass

    def note(self, provider: str | None, usage: Any) -> None:
        if provider:
            self.provider = provider
        if usage is not None and self.cache != "hit":  # a hit used no tokens
            self.prompt_tokens = usage.prompt_tokens
            self.completion_tokens = usage.completion_tokens


class Gateway:
    """The ASGI application (one per worker process)."""

    def __init__(self, config: GatewayConfig) -> None:
        from ..client import AsyncClient

        self.config = config
        self.router = Router(config)
        self.client = AsyncClient()
        #: Passed to every provider that takes them (retries off by default: see config).
        self.upstream_options: dict[str, Any] = {"max_retries": config.upstream_max_retries}
        if config.upstream_timeout is not None:
            self.upstream_options["timeout"] = config.upstream_timeout
        self._keys = tuple(key.encode() for key in config.api_keys)
        self.secrets = self.router.secrets(config.api_keys)
        self.limit = InflightLimit(config.max_inflight, config.queue_timeout)
        self.metrics = Metrics()
        self.catalog = Catalog(self)
        self.openapi_body = json.dumps(openapi_spec()).encode()
        #: Responses made here, for `previous_response_id` over chat (bounded, per caller).
        self.responses = ResponseStore(
            config.responses_store_size, config.responses_store_ttl, config.responses_store_bytes
        )
        #: Virtual keys, limits, budgets, usage: on with --state or --admin-key.
        self.team = Team(config) if config.state or config.admin_key else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await _lifespan(receive, send, self.team.close if self.team else None)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})

    # -- one request ---------------------------------------------------------------------------

    def authorized(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """A configured key in `Authorization: Bearer` or `x-api-key` (constant time)."""
        keys = self._keys
        if not keys and self.team is None:
            return True
        ok = False
        for name, value in headers:
            if name == b"authorization" and value[:7].lower() == _BEARER:
                given = value[7:].strip()
            elif name == b"x-api-key":
                given = value.strip()
            else:
                continue
            for key in keys:
                ok |= hmac.compare_digest(key, given)
        return ok

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        route = _ROUTES.get(path)
        label = (
            route[0]
            if route
            else ("/v1/models/{id}" if path.startswith(_MODEL_PREFIX) else "other")
        )
        exchange = Exchange(label)

        surface = anthropic_messages.SURFACE if path.startswith("/v1/messages") else None
        try:
            if path == "/health" and method in ("GET", "HEAD"):
                exchange.status = 200
                await send_json(send, 200, HEALTH)
            elif self.team is not None and path.startswith(ADMIN_PATHS):
                await serve_admin(self, exchange, scope, receive, send)
            elif not (
                (self.team is not None and await self.team.authenticate(exchange, scope))
                or self.authorized(scope["headers"])
            ):
                failure = Failure(
                    401,
                    "invalid_request_error",
                    "a valid gateway key is required (Authorization: Bearer <key> "
                    "or x-api-key: <key>)",
                )
                await self._refuse(
                    exchange, send, surface, failure, [(b"www-authenticate", b"Bearer")]
                )
            else:
                if exchange.team is not None:
                    send = self.team.wrap(send, exchange.team) if self.team else send
                await self._dispatch(exchange, scope, receive, send, surface)
        except Exception as exc:  # a bug: logged with its traceback, never shown
            log.error("error while serving %s %s", method, label, exc_info=exc)
            started = bool(exchange.status)
            exchange.status, exchange.error = 500, type(exc).__name__
            if not started:
                failure = Failure(500, "server_error", "internal error (see the gateway's log)")
                await send_failure(send, surface or openai_chat.SURFACE, failure)
        finally:
            if exchange.team is not None and self.team is not None:
                await self.team.settle(exchange)
            self._record(exchange, method)

    async def _dispatch(
        self,
        exchange: Exchange,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        surface: Surface | None,
    ) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        route = _ROUTES.get(path)
        if route is None and path.startswith(_MODEL_PREFIX) and len(path) > len(_MODEL_PREFIX):
            if method not in ("GET", "HEAD"):
                return await self._not_allowed(exchange, send, ("GET", "HEAD"), surface)
            return await self.catalog.get_model(exchange, path[len(_MODEL_PREFIX) :], send)
        if route is None:
            failure = Failure(404, "invalid_request_error", f"no route {method} {path[:200]}")
            return await self._refuse(exchange, send, surface, failure)
        if method not in route[1]:
            return await self._not_allowed(exchange, send, route[1], surface)
        if method == "POST":
            raw = await self._body(scope, receive)
            if raw is None:
                failure = Failure(
                    413,
                    "invalid_request_error",
                    f"the body is larger than {self.config.max_body_bytes} bytes",
                )
                return await self._refuse(
                    exchange, send, surface, failure, [(b"connection", b"close")]
                )
            if path.startswith("/v1/images/"):
                content_type = _header(scope, b"content-type")
                edit = path == "/v1/images/edits"
                return await serve_images(self, exchange, raw, content_type, edit, send)
            if path == "/v1/embeddings":
                return await serve_embeddings(self, exchange, raw, receive, send)
            if path == "/v1/responses":
                return await serve_responses(self, exchange, scope, raw, receive, send)
            chosen = anthropic_messages.SURFACE if surface else openai_chat.SURFACE
            return await serve_chat(self, exchange, chosen, raw, receive, send)
        if path == "/v1/models":
            return await self.catalog.list_models(exchange, send)
        if path == "/v1/providers":
            return await self.catalog.list_providers(exchange, send)
        if path == "/openapi.json":
            exchange.status = 200
            return await send_json(send, 200, self.openapi_body)
        if path == "/metrics":
            rendered = self.metrics.render(self.limit.in_flight, self.limit.waiting)
            if self.team is not None:
                rendered += self.team.metrics.render()
            text = rendered.encode()
            exchange.status = 200
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/plain; version=0.0.4; charset=utf-8"),
                        (b"content-length", str(len(text)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": text})

    async def _body(self, scope: dict[str, Any], receive: Any) -> bytes | None:
        """The request body, or None as soon as it is known to exceed the limit."""
        limit = self.config.max_body_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    if int(value) > limit:
                        return None
                except ValueError:
                    return None
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            part = message.get("body", b"")
            size += len(part)
            if size > limit:
                return None
            parts.append(part)
            if not message.get("more_body"):
                break
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def _refuse(
        self,
        exchange: Exchange,
        send: Any,
        surface: Surface | None,
        failure: Failure,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        exchange.status = failure.status
        await send_failure(send, surface or openai_chat.SURFACE, failure, headers)

    async def _not_allowed(
        self, exchange: Exchange, send: Any, methods: tuple[str, ...], surface: Surface | None
    ) -> None:
        failure = Failure(405, "invalid_request_error", f"use {' or '.join(methods)}")
        allow = (b"allow", ", ".join(methods).encode())
        await self._refuse(exchange, send, surface, failure, [allow])

    def _record(self, exchange: Exchange, method: str) -> None:
        seconds = time.perf_counter() - exchange.start
        self.metrics.observe(
            exchange.route,
            exchange.status,
            seconds,
            None if exchange.cache == "hit" else exchange.provider,  # upstream calls only
            exchange.prompt_tokens,
            exchange.completion_tokens,
        )
        if access_log.isEnabledFor(logging.INFO):
            model = redact((exchange.model or "-")[:120], self.secrets)
            access_log.info(
                "%s %s status=%d model=%r provider=%s latency_ms=%.1f prompt_tokens=%d "
                "completion_tokens=%d%s%s",
                method,
                exchange.route,
                exchange.status,
                model,
                exchange.provider or "-",
                seconds * 1000,
                exchange.prompt_tokens,
                exchange.completion_tokens,
                f" cache={exchange.cache}" if exchange.cache else "",
                f" error={exchange.error}" if exchange.error else "",
            )


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


async def _lifespan(
    receive: Any, send: Any, on_shutdown: Callable[[], Awaitable[None]] | None = None
) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_shutdown is not None:
                await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(config: GatewayConfig | None = None) -> Gateway:
    """The gateway's ASGI app for `config` (defaults: no keys, loopback use)."""
    return Gateway(config or GatewayConfig())
