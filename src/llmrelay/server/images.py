"""`POST /v1/images/generations` and `/v1/images/edits`: OpenAI's Images API over every image
provider (`llmrelay.client.images.generate_images`), with chat's key check, body limit,
in-flight limit, error shapes and access log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..protocols.openai import gateway_images
from .chat import admit, fail
from .failures import failure_for
from .openai_chat import SURFACE
from .streaming import send_json

if TYPE_CHECKING:
    from .app import Exchange, Gateway

__all__ = ["serve_images"]


async def serve_images(
    gateway: Gateway, exchange: Exchange, raw: bytes, content_type: str, edit: bool, send: Any
) -> None:
    from ..client.images import generate_images

    allowed = gateway.config.allowed_fields
    try:
        request = (
            gateway_images.parse_edit(raw, content_type, allowed)
            if edit
            else gateway_images.parse_generation(raw, allowed)
        )
    except Exception as exc:
        return await fail(exchange, send, SURFACE, failure_for(exc, gateway.secrets))
    exchange.model = request.model or None
    if not await admit(gateway, exchange, send, SURFACE, request.model, request.model, len(raw)):
        return
    try:
        response = await generate_images(
            request.prompt, model=request.model, provider=request.provider,
            image=request.image, **request.params,
        )  # fmt: skip
    except Exception as exc:
        return await fail(exchange, send, SURFACE, failure_for(exc, gateway.secrets))
    finally:
        gateway.limit.release()
    exchange.provider = response.provider
    exchange.status = 200
    await send_json(send, 200, response.to_json(indent=None).encode())
