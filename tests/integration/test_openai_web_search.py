"""web_search on the OpenAI preset: `web_search_options` is sent and `url_citation`
annotations come back as a `Sources` chunk (message annotations and streamed ones)."""

from __future__ import annotations

import json

import pytest

import llmrelay
from llmrelay.providers.response import Sources, concat_chunks
from support.fake_openai import FakeOpenAI, Status

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "Who won?"}]
CITATION = {
    "type": "url_citation",
    "url_citation": {"url": "https://news.example/a", "title": "Result", "start_index": 0,
                     "end_index": 5},
}  # fmt: skip


async def test_web_search_sends_options_and_yields_sources() -> None:
    completion = {
        "id": "c", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "Team A won.", "annotations": [CITATION]}}],
    }  # fmt: skip
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
             "choices": [{"index": 0, "finish_reason": None,
                          "delta": {"content": "Team A", "annotations": [CITATION]}}]}  # fmt: skip
    stream_body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"
    openai = llmrelay.Provider.OpenAI
    async with FakeOpenAI() as fake:
        fake.script(
            Status(200, body=json.dumps(completion), headers={"content-type": "application/json"}),
            Status(200, body=stream_body, headers={"content-type": "text/event-stream"}),
        )
        for stream in (False, True):
            chunks = [
                c
                async for c in openai.create_async_generator(
                    "gpt-4o-mini-search-preview", MESSAGES, api_base=fake.base_url,
                    api_key="sk-test", web_search=True, stream=stream,
                )
            ]  # fmt: skip
            assert fake.requests[-1].body["web_search_options"] == {}
            sources = next(c for c in chunks if isinstance(c, Sources))
            assert sources.list == [{"url": "https://news.example/a", "title": "Result"}]
            assert concat_chunks(chunks).startswith("Team A")
