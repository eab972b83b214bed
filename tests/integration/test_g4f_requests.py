"""A provider written for g4f against `g4f.requests` runs by changing its imports."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llmrelay.errors import MissingAuthError, UnsupportedParameterError
from llmrelay.providers.base_provider import AsyncGeneratorProvider, ProviderModelMixin
from llmrelay.providers.response import FinishReason
from llmrelay.requests import StreamSession, raise_for_status
from support.fake_openai import FakeOpenAI, Reply

MESSAGES = [{"role": "user", "content": "hi"}]


class Ported(AsyncGeneratorProvider, ProviderModelMixin):
    """As g4f users write a provider for an OpenAI-compatible API."""

    working = True
    default_model = "gpt-4o-mini"
    api_base = ""

    @classmethod
    async def create_async_generator(  # type: ignore[override]
        cls, model: str, messages: Any, proxy: str | None = None, api_key: str = "", **kwargs: Any
    ) -> AsyncIterator[Any]:
        headers = {"Authorization": f"Bearer {api_key}"}
        data = {"model": cls.get_model(model), "messages": messages, "stream": True}
        async with StreamSession(headers=headers, proxy=proxy, timeout=30) as session:  # noqa: SIM117 (as g4f code reads)
            async with session.post(f"{cls.api_base}/chat/completions", json=data) as response:
                await raise_for_status(response)
                async for line in response.iter_lines():
                    if line.startswith(b"data: ") and line != b"data: [DONE]":
                        choice = json.loads(line[6:])["choices"][0]
                        if choice["delta"].get("content"):
                            yield choice["delta"]["content"]
                        if choice.get("finish_reason"):
                            yield FinishReason(choice["finish_reason"])


async def test_a_ported_provider_streams_through_our_transport() -> None:
    async with FakeOpenAI(api_key="sk-right") as fake:
        fake.script(Reply("Hello there, friend", chunk_size=5))
        Ported.api_base = fake.base_url
        chunks = [c async for c in Ported.create_async_generator("", MESSAGES, api_key="sk-right")]
    assert "".join(c for c in chunks if isinstance(c, str)) == "Hello there, friend"
    assert chunks[-1] == FinishReason("stop")


async def test_its_errors_are_llmrelay_errors_without_the_key() -> None:
    async with FakeOpenAI(api_key="sk-right") as fake:
        Ported.api_base = fake.base_url
        with pytest.raises(MissingAuthError) as info:
            async for _ in Ported.create_async_generator("", MESSAGES, api_key="sk-wrong-key-1"):
                pass
    assert info.value.status_code == 401
    assert "sk-wrong-key-1" not in repr(info.value)


async def test_sse_and_json_helpers() -> None:
    async with FakeOpenAI() as fake, StreamSession() as session:
        fake.script(Reply("abc"))
        body = {"model": "m", "messages": MESSAGES, "stream": True}
        async with session.post(f"{fake.base_url}/chat/completions", json=body) as response:
            events = [event async for event in response.sse()]
        assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events) == "abc"
        async with session.get(f"{fake.base_url}/models") as response:
            assert response.ok
            assert (await response.json())["data"][0]["id"] == "gpt-4o-mini"


def test_browser_impersonation_is_refused() -> None:
    with pytest.raises(UnsupportedParameterError, match="impersonate"):
        StreamSession(impersonate="chrome")
