"""The response cache's pure parts: the normalised key, the temperature rule, the request's
switch (body field and Cache-Control), which answers are kept, and replay into client objects."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from llmrelay.protocols.fields import CacheSwitch, FieldError, cache_switch
from llmrelay.protocols.openai.gateway import parse_request
from llmrelay.server.config import ConfigError, from_mapping
from llmrelay.server.team import cache_entry
from llmrelay.server.team.cache import _switch, digest, wanted


class Upstream:
    __name__ = "local"
    api_base = "http://127.0.0.1:1/v1"
    model_aliases = {"fast": "qwen2.5"}


def key_of(body: dict[str, Any], provider: Any = Upstream, model: str = "fast") -> str:
    base = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}
    return digest(provider, model, parse_request({**base, **body}))


def test_the_key_is_the_normalised_request() -> None:
    plain = key_of({"temperature": 0, "max_tokens": 5})
    assert key_of({"max_tokens": 5, "temperature": 0.0}) == plain  # order, 0 == 0.0
    assert key_of({"temperature": 0, "max_tokens": 5, "stream": True}) == plain
    options = {"stream": True, "stream_options": {"include_usage": True}}
    assert key_of({"temperature": 0, "max_tokens": 5, **options}) == plain
    assert key_of({"temperature": 0, "max_tokens": 5, "user": "u1"}) == plain
    assert key_of({"temperature": 0, "max_tokens": 5, "cache": True}) == plain
    assert key_of({"temperature": 0, "max_tokens": 5, "logprobs": True}) == plain  # dropped
    assert key_of({"temperature": 0, "max_tokens": 6}) != plain
    assert key_of({"temperature": 0, "max_tokens": 5, "seed": 1}) != plain
    assert key_of({"temperature": 0, "max_tokens": 5}, None) != plain
    assert key_of({"temperature": 0, "max_tokens": 5}, Upstream, "slow") != plain
    other = type("Other", (Upstream,), {"__name__": "local", "api_base": "http://elsewhere"})
    assert key_of({"temperature": 0, "max_tokens": 5}, other) != plain
    renamed = type("Renamed", (Upstream,), {"model_aliases": {"fast": "llama"}})
    assert key_of({"temperature": 0, "max_tokens": 5}, renamed) != plain
    assert len(plain) == 64
    assert "hi" not in plain


def test_sampled_requests_need_asking_unless_the_key_says_always() -> None:
    default, asked, off = CacheSwitch(), CacheSwitch(asked=True), CacheSwitch(False, False, False)
    assert wanted("on", default, {"temperature": 0})
    assert not wanted("on", default, {"temperature": 0.2})
    assert not wanted("on", default, {})  # unset: the provider's default, above 0
    assert wanted("on", asked, {"temperature": 1.0})
    assert wanted("always", default, {})
    assert not wanted("always", off, {"temperature": 0})
    assert not wanted("off", asked, {"temperature": 0})
    refresh = CacheSwitch(read=False)
    assert wanted("always", refresh, {})


def test_the_cache_field() -> None:
    assert cache_switch(None) is None
    assert cache_switch(True) == CacheSwitch(asked=True)
    assert cache_switch(False) == CacheSwitch(read=False, write=False)
    assert cache_switch({"no-cache": True, "ttl": 60, "s-maxage": 10}) == CacheSwitch(
        read=False, ttl=60, max_age=10
    )
    assert cache_switch({"use-cache": True, "no-store": True}) == CacheSwitch(
        asked=True, write=False
    )
    for wrong in ("yes", 1, {"ttl": -1}, {"no-cache": "true"}, {"namespace": "x"}):
        with pytest.raises(FieldError) as caught:
            cache_switch(wrong)
        assert caught.value.param == "cache"


def test_cache_control_directives_join_the_switch() -> None:
    headers = [(b"cache-control", b"No-Cache, max-age=30"), (b"x-other", b"no-store")]
    assert _switch(CacheSwitch(asked=True), headers) == CacheSwitch(
        asked=True, read=False, max_age=30
    )
    assert _switch(None, [(b"cache-control", b"no-store")]) == CacheSwitch(write=False)
    assert _switch(None, [(b"cache-control", b"max-age=x")]) == CacheSwitch()


def _entry(**changes: Any) -> dict[str, Any]:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
             "prompt_tokens_details": {"cached_tokens": 0},
             "completion_tokens_details": None}  # fmt: skip
    entry = {"model": "m", "provider": "p", "text": "Hi", "reasoning": None, "tool_calls": [],
             "finish": "stop", "usage": usage}  # fmt: skip
    return {**entry, **changes}


def test_only_complete_answers_are_kept() -> None:
    assert cache_entry.encode(_entry()) is not None
    assert cache_entry.encode(_entry(finish="length")) is not None
    assert cache_entry.encode(_entry(finish=None)) is None
    assert cache_entry.encode(_entry(finish="content_filter")) is None
    assert cache_entry.encode(_entry(text="")) is None  # an empty answer: more likely a glitch
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    assert cache_entry.encode(_entry(text=None, tool_calls=[call], finish="tool_calls"))
    text = cache_entry.encode(_entry())
    assert text is not None
    assert cache_entry.decode(text) is not None
    assert cache_entry.decode(text, max_age=3600) is not None
    stale = json.dumps({**json.loads(text), "at": 0})
    assert cache_entry.decode(stale, max_age=3600) is None
    assert cache_entry.decode("{not json") is None
    assert cache_entry.decode(None) is None


def test_an_entry_replays_as_a_completion_and_as_a_stream() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    entry = _entry(reasoning="hmm", tool_calls=[call], finish="tool_calls")
    completion = cache_entry.completion_of(entry)
    assert completion.id.startswith("chatcmpl-")
    assert completion.choices[0].message.content == "Hi"
    assert completion.choices[0].message.reasoning_content == "hmm"
    assert completion.choices[0].message.tool_calls[0].function.arguments == '{"a":1}'
    assert (completion.model, completion.provider) == ("m", "p")
    assert completion.usage is not None
    assert completion.usage.total_tokens == 5
    again = cache_entry.of_completion(completion)
    assert {k: again[k] for k in entry} == entry

    async def collect() -> list[Any]:
        return [c async for c in cache_entry.chunks_of(entry, include_usage=True)]

    chunks = asyncio.run(collect())
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == 5
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    kept: list[dict[str, Any]] = []

    async def keep(entry: dict[str, Any]) -> None:
        kept.append(entry)

    capture = cache_entry.Capture(keep)
    for chunk in chunks:
        capture.add(chunk)
    asyncio.run(capture.done())
    assert {k: kept[0][k] for k in entry} == entry


def test_the_cache_table_of_the_config() -> None:
    config = from_mapping({"cache": {"ttl": 60, "max_entries": 5, "shared": True}})
    assert (config.cache_ttl, config.cache_max_entries, config.cache_shared) == (60.0, 5, True)
    assert config.cache_max_entry_bytes == 256 * 1024
    for wrong in ({"ttl": -1}, {"shared": 1}, {"max_entries": 1.5}, {"size": 1}, {"ttl": True}):
        with pytest.raises(ConfigError, match=r"\[cache\]"):
            from_mapping({"cache": wrong})
