"""The embedding routes of the fakes, in each API's documented wire format.

Each fake adds its route in ``_routes``: OpenAI ``POST /v1/embeddings``; Gemini
``POST /{version}/models/{model}:embedContent`` and ``…:batchEmbedContents`` (at most 100
requests, as the API); Vertex AI ``POST …/publishers/google/models/{model}:predict``
(``instances[].content``, ``parameters.outputDimensionality``); Ollama ``POST /api/embed``.

Vectors are deterministic: ``vector(text, dimensions)`` (default 8 dimensions), with values
k/128 that float32 holds exactly, so a base64 round-trip gives the same numbers. A text's token
count is its number of words; a list of token ids counts its ids and embeds their text.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from support.fake_openai import _RECORD, Status, error_body

DIMENSIONS = 8
GEMINI_BATCH_LIMIT = 100


def vector(text: str, dimensions: int | None = None) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest() * 8
    return [(b - 128) / 128 for b in digest[: dimensions or DIMENSIONS]]


def _tokens(item: str | list[int]) -> int:
    return len(item) if isinstance(item, list) else len(item.split())


def _text(item: str | list[int]) -> str:
    return item if isinstance(item, str) else " ".join(map(str, item))


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.json_response(obj, status=status)


async def openai_embeddings(request: web.Request) -> web.Response:
    body = request[_RECORD].body
    if not isinstance(body, dict) or "input" not in body or "model" not in body:
        return _json(error_body("'input' and 'model' are required"), 400)
    raw = body["input"]
    if isinstance(raw, str) or (raw and all(isinstance(t, int) for t in raw)):
        raw = [raw]
    if not raw or len(raw) > 2048:
        return _json(error_body("'input' must have 1 to 2048 items", param="input"), 400)
    dims = body.get("dimensions")
    data = [{"object": "embedding", "index": i, "embedding": vector(_text(item), dims)}
            for i, item in enumerate(raw)]  # fmt: skip
    if body.get("encoding_format") == "base64":
        import base64
        import struct

        for item in data:
            item["embedding"] = base64.b64encode(
                struct.pack(f"<{len(item['embedding'])}f", *item["embedding"])
            ).decode()
    tokens = sum(_tokens(item) for item in raw)
    return _json({"object": "list", "data": data, "model": body["model"],
                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})  # fmt: skip


def _google_error(code: int, message: str) -> web.Response:
    status = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}[code]
    return _json({"error": {"code": code, "message": message, "status": status}}, code)


def _content_text(content: Any) -> str | None:
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list) or not parts:
        return None
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict))


async def gemini_embeddings(request: web.Request, model: str, method: str) -> web.Response:
    body = request[_RECORD].body
    if not isinstance(body, dict):
        return _google_error(400, "Invalid JSON payload received.")
    if method == "embedContent":
        text = _content_text(body.get("content"))
        if text is None:
            return _google_error(400, "* EmbedContentRequest.content: contents is not specified")
        return _json({"embedding": {"values": vector(text, body.get("outputDimensionality"))}})
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        return _google_error(400, "* BatchEmbedContentsRequest.requests: is empty")
    if len(requests) > GEMINI_BATCH_LIMIT:
        return _google_error(400, "* BatchEmbedContentsRequest.requests: at most 100 requests "
                                  "can be in one batch")  # fmt: skip
    embeddings = []
    for each in requests:
        text = _content_text(each.get("content")) if isinstance(each, dict) else None
        if text is None or each.get("model") != f"models/{model}":
            return _google_error(400, "* BatchEmbedContentsRequest.requests[].model or content")
        embeddings.append({"values": vector(text, each.get("outputDimensionality"))})
    return _json({"embeddings": embeddings})


async def vertex_predict(request: web.Request) -> web.Response:
    body = request[_RECORD].body
    instances = body.get("instances") if isinstance(body, dict) else None
    if not isinstance(instances, list) or not instances:
        return _google_error(400, "instances must be a non-empty list")
    parameters = body.get("parameters") or {}
    predictions = []
    for instance in instances:
        text = instance.get("content") if isinstance(instance, dict) else None
        if not isinstance(text, str):
            return _google_error(400, "each instance needs a string content")
        statistics = {"token_count": _tokens(text), "truncated": False}
        values = vector(text, parameters.get("outputDimensionality"))
        predictions.append({"embeddings": {"values": values, "statistics": statistics}})
    chars = sum(len(i["content"]) for i in instances)
    return _json({"predictions": predictions, "metadata": {"billableCharacterCount": chars}})


async def ollama_embed(request: web.Request) -> web.Response:
    body = request[_RECORD].body
    if not isinstance(body, dict) or not body.get("model"):
        return _json({"error": "model is required"}, 400)
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return _json({"error": "invalid input type"}, 400)
    tokens = sum(_tokens(t) for t in texts)
    return _json({"model": body["model"], "embeddings": [vector(t) for t in texts],
                  "total_duration": 1000, "load_duration": 100,
                  "prompt_eval_count": tokens})  # fmt: skip


__all__ = ["Status", "gemini_embeddings", "ollama_embed", "openai_embeddings", "vector",
           "vertex_predict"]  # fmt: skip
