"""The OpenAI-shaped client: `Client`, `AsyncClient` and their response types."""

from __future__ import annotations

from .client import AsyncClient, AsyncStream, Client

__all__ = ["AsyncClient", "AsyncStream", "Client"]
