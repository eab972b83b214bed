"""`GET /v1/models`, `GET /v1/models/{id}`, `GET /v1/providers`, `GET /health`, `GET /metrics`.

Lists are built once at start-up from the configuration and the environment: answering them
calls no provider. `/health` says only that the process serves; it shows nothing configured.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..protocols.openai.gateway import error_body
from .streaming import send_json

if TYPE_CHECKING:
    from .app import Exchange, Gateway

__all__ = ["Catalog"]

HEALTH = b'{"status":"ok"}'


class Catalog:
    """The pre-rendered lists."""

    def __init__(self, gateway: Gateway) -> None:
        router = gateway.router
        self.models: dict[str, dict[str, Any]] = {
            model: {"id": model, "object": "model", "created": 0, "owned_by": owner}
            for model, owner in router.model_ids()
        }
        self.models_body = json.dumps({"object": "list", "data": list(self.models.values())})
        self.providers_body = json.dumps({"object": "list", "data": router.provider_rows()})

    async def list_models(self, exchange: Exchange, send: Any) -> None:
        exchange.status = 200
        await send_json(send, 200, self.models_body.encode())

    async def get_model(self, exchange: Exchange, model: str, send: Any) -> None:
        found = self.models.get(model)
        if found is None:
            exchange.status = 404
            body = error_body(
                f"The model {model!r} does not exist",
                "invalid_request_error",
                "model",
                "model_not_found",
            )
            return await send_json(send, 404, json.dumps(body).encode())
        exchange.status = 200
        await send_json(send, 200, json.dumps(found).encode())

    async def list_providers(self, exchange: Exchange, send: Any) -> None:
        exchange.status = 200
        await send_json(send, 200, self.providers_body.encode())
