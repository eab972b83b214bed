"""Gemini on Vertex AI (`VertexAI`) against `FakeGemini`, with a service account of its own.

While the fake runs, `LLMRELAY_CACHE_DIR` points at a temporary directory, where the provider
caches its token: each test starts without a cached token, so a 401 is refused at once.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from conformance.entry_gemini import GeminiWire
from conformance.harness import Entry
from llmrelay.Provider.vertex import VertexAI
from support.fake_gemini import FakeGemini


class VertexUpstream:
    def __init__(self, fake: FakeGemini, credentials: pathlib.Path) -> None:
        self.fake, self.credentials = fake, credentials
        self.base_url, self.requests = fake.base_url, fake.requests

    def script(self, *behaviours: Any) -> None:
        self.fake.script(*behaviours)


@asynccontextmanager
async def vertex_upstream() -> AsyncIterator[VertexUpstream]:
    saved = os.environ.get("LLMRELAY_CACHE_DIR")
    with tempfile.TemporaryDirectory() as directory:
        os.environ["LLMRELAY_CACHE_DIR"] = os.path.join(directory, "cache")
        try:
            async with FakeGemini() as fake:
                yield VertexUpstream(fake, fake.service_account(pathlib.Path(directory)))
        finally:
            if saved is None:
                os.environ.pop("LLMRELAY_CACHE_DIR", None)
            else:
                os.environ["LLMRELAY_CACHE_DIR"] = saved


ENTRY = Entry(
    name="vertex",
    provider=VertexAI,
    model="gemini-2.5-flash",
    upstream=vertex_upstream,
    params=lambda up: {"api_base": up.base_url, "credentials": str(up.credentials)},
    wire=GeminiWire(),
)
