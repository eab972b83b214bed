"""`POST /v1/embeddings`: OpenAI's Embeddings API over every provider that makes embeddings
(`llmrelay.client.embeddings.create_embeddings`), routed as chat is (config aliases, the
`provider` field, the default provider; else by model name), with chat's key check, body
limit, field allow-list, virtual-key admission, in-flight limit, error shapes and access log.

A fallback chain is refused: vectors of two providers are not comparable, so no failover.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..protocols.openai.gateway_embeddings import parse_embeddings
from .chat import admit, fail
from .failures import failure_for
from .openai_chat import SURFACE
from .streaming import DisconnectWatch, send_json

if TYPE_CHECKING:
    from .app import Exchange, Gateway

__all__ = ["serve_embeddings"]


async def serve_embeddings(
    gateway: Gateway, exchange: Exchange, raw: bytes, receive: Any, send: Any
) -> None:
    from ..client.embeddings import create_embeddings
    from ..providers.routing import auto

    try:
        request = parse_embeddings(raw, gateway.config.allowed_fields)
        exchange.model = request.model
        provider, model = gateway.router.resolve(request.model, request.provider)
    except Exception as exc:
        return await fail(exchange, send, SURFACE, failure_for(exc, gateway.secrets))
    if not await admit(gateway, exchange, send, SURFACE, request.model, model, len(raw)):
        return
    watch = DisconnectWatch(receive)
    try:
        response = await create_embeddings(
            provider or auto, model, request.input, options=gateway.upstream_options,
            **request.params,
        )  # fmt: skip
    except asyncio.CancelledError:
        if not watch.absorb():
            raise
        exchange.status = 499  # the client went away; its upstream request was cancelled
        gateway.metrics.disconnects += 1
        return
    except Exception as exc:
        return await fail(exchange, send, SURFACE, failure_for(exc, gateway.secrets))
    finally:
        watch.close()
        gateway.limit.release()
    exchange.provider = response.provider
    exchange.prompt_tokens = response.usage.prompt_tokens
    exchange.status = 200
    await send_json(send, 200, response.to_json(indent=None).encode())
