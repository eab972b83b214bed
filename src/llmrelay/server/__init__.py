"""The gateway: an OpenAI- and Anthropic-compatible HTTP server in front of every provider.

A thin ASGI skin over the client layer (`llmrelay.AsyncClient`), served by uvicorn (the
`server` extra). `create_app(config)` builds the app; `llmrelay.server.cli.main(argv)` parses
the command line and runs it. Wire formats live in `llmrelay.protocols` (the gateway direction).

Modules: `app` (routing, auth, body limit, access log), `openai_chat`, `anthropic_messages`,
`models` (models and providers), `metrics`, `limits` (in-flight limit), `failures` (errors
into HTTP answers), `streaming` (SSE out, disconnects), `routing` (model and provider names
into providers), `config`, `openapi`, `cli`.
"""

from __future__ import annotations

__all__ = ["create_app"]

from .app import create_app
