"""A local OpenAI-compatible upstream that answers at once, for benchmarks (its own process).

    python bench/upstream.py PORT

POST /v1/chat/completions answers a 20-token completion, or with "stream": true a stream of
100 content chunks, then usage and [DONE]; each answer is written in one piece.
"""

from __future__ import annotations

import json
import sys

from aiohttp import web

WORDS = [f"w{i} " for i in range(20)]
STREAM_CHUNKS = 100


def completion(model: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(WORDS)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 20, "total_tokens": 25},
        }
    ).encode()


def chunk(model: str, delta: dict[str, str], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def stream(model: str, count: int) -> bytes:
    parts = [chunk(model, {"role": "assistant", "content": ""})]
    parts += [chunk(model, {"content": f"t{i} "}) for i in range(count)]
    parts.append(chunk(model, {}, "stop"))
    usage = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "choices": [],
             "usage": {"prompt_tokens": 5, "completion_tokens": count,
                       "total_tokens": count + 5}}  # fmt: skip
    parts.append(b"data: " + json.dumps(usage).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


async def chat(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    model = body.get("model", "bench")
    if not body.get("stream"):
        return web.Response(body=completion(model), content_type="application/json")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    try:
        await response.prepare(request)
        await response.write(stream(model, STREAM_CHUNKS))
        await response.write_eof()
    except ConnectionResetError:  # the client went away (soak.py cancels some streams)
        pass
    return response


async def models(request: web.Request) -> web.Response:
    return web.json_response({"object": "list", "data": [{"id": "bench", "object": "model"}]})


def main() -> None:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
