"""The admin HTTP API, behind its own key (`--admin-key` / LLMRELAY_ADMIN_KEY):

GET    /v1/admin/keys             the keys (never their secret)
POST   /v1/admin/keys             {"name", "models", "rpm", "tpm", "budget", "expires",
                                   "cache": "off"|"on"|"always" (true: "on"),
                                   "cache_ttl": seconds or "1h"}
                                  → 201 with the key, shown this once
DELETE /v1/admin/keys/{id}        revoke
GET    /v1/usage?key=&since=&by=  usage records, or totals by model|key|day
"""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ..failures import Failure
from ..streaming import send_json
from .ops import aggregate, make_key, parse_seconds, parse_time
from .records import StoreDownError

if TYPE_CHECKING:
    from ..app import Exchange, Gateway

__all__ = ["ADMIN_PATHS", "serve_admin"]

ADMIN_PATHS = ("/v1/admin/", "/v1/usage")
_KEYS = "/v1/admin/keys"


def _admin(gateway: Gateway, headers: list[tuple[bytes, bytes]]) -> bool:
    expected = gateway.team.admin_key if gateway.team else b""
    ok = False
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            given = value[7:].strip()
        elif name == b"x-api-key":
            given = value.strip()
        else:
            continue
        ok |= bool(expected) and hmac.compare_digest(expected, given)
    return ok


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


async def serve_admin(
    gateway: Gateway, exchange: Exchange, scope: dict[str, Any], receive: Any, send: Any
) -> None:
    from ..chat import send_failure
    from ..openai_chat import SURFACE

    async def fail(status: int, message: str, kind: str = "invalid_request_error") -> None:
        exchange.status = status
        await send_failure(send, SURFACE, Failure(status, kind, message))

    if not _admin(gateway, scope["headers"]):
        return await fail(401, "the admin API needs the admin key (--admin-key)")
    team = gateway.team
    assert team is not None
    path, method = scope["path"], scope["method"]
    try:
        if path == "/v1/usage" and method == "GET":
            query = parse_qs(scope.get("query_string", b"").decode())
            since = parse_time(query["since"][0], future=False) if "since" in query else None
            key = query["key"][0] if "key" in query else None
            await team.drain()  # this process's answers written behind them
            records = await team.store.usage(since, key)
            data = aggregate(records, query["by"][0] if "by" in query else None)
            body = _json({"object": "list", "data": data})
        elif path == _KEYS and method == "GET":
            keys = await team.store.list_keys()
            body = _json({"object": "list", "data": [k.public() for k in keys]})
        elif path == _KEYS and method == "POST":
            raw = await gateway._body(scope, receive)
            spec = json.loads(raw or b"{}")
            if not isinstance(spec, dict):
                raise ValueError("the body must be a JSON object")
            budget = spec.get("budget")
            cache = spec.get("cache") or "off"
            cache = "on" if cache is True else cache
            key, record = make_key(
                str(spec.get("name", "")),
                list(spec.get("models") or []),
                int(spec.get("rpm") or 0),
                int(spec.get("tpm") or 0),
                None if budget is None else float(budget),
                parse_time(spec.get("expires"), future=True),
                str(cache),
                parse_seconds(spec.get("cache_ttl")),
            )
            await team.store.create_key(record)
            exchange.status = 201
            return await send_json(send, 201, _json({**record.public(), "key": key}))
        elif path.startswith(_KEYS + "/") and method == "DELETE":
            key_id = path[len(_KEYS) + 1 :]
            if not await team.store.revoke(key_id):
                return await fail(404, f"no key {key_id[:80]!r}", "not_found_error")
            body = _json({"id": key_id, "revoked": True})
        else:
            return await fail(404, f"no admin route {method} {path[:200]}", "not_found_error")
    except StoreDownError:
        return await fail(503, "the gateway's state store is unreachable", "server_error")
    except (ValueError, TypeError) as exc:
        return await fail(400, str(exc)[:300])
    exchange.status = 200
    await send_json(send, 200, body)
