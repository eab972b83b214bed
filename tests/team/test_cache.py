"""The response cache on SQLite (one instance): hits in every shape with no upstream request,
the temperature rule, per-key scopes, TTL, what is never kept, bypasses, and the counting."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from llmrelay.server.config import GatewayConfig
from llmrelay.server.team import cache as cache_module
from support.fake_openai import CutStream, FakeOpenAI, Reply, Status, ToolCall

from .conftest import GATEWAY_KEY, admin, create_key, gateways, post, team_config


def sqlite_config(upstream: FakeOpenAI, tmp_path: Path, **changes: object) -> GatewayConfig:
    return team_config(upstream, f"sqlite:///{tmp_path / 'state.db'}", tmp_path, **changes)


def body(stream: bool = False, content: str = "hi", **extra: Any) -> dict[str, Any]:
    """A request both surfaces take alike (Anthropic's needs max_tokens: it has it)."""
    out: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 4,
        "temperature": 0,
        **extra,
    }
    if stream:
        out["stream"] = True
    return out


def calls(upstream: FakeOpenAI) -> int:
    return sum(r.method == "POST" for r in upstream.requests)


def events(raw: bytes) -> list[Any]:
    """The `data:` payloads of an SSE body (JSON, or the text of `[DONE]`)."""
    out: list[Any] = []
    for line in raw.decode().splitlines():
        if line.startswith("data: "):
            data = line[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def streamed_text(raw: bytes) -> str:
    return "".join(
        e["choices"][0]["delta"].get("content") or ""
        for e in events(raw)
        if isinstance(e, dict) and e.get("choices")
    )


def test_a_second_identical_request_is_a_hit_in_every_shape(
    upstream: FakeOpenAI, tmp_path: Path
) -> None:
    upstream.requests.clear()
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url, cache="on")["key"]
        first = post(gw.url, key, body())
        again = post(gw.url, key, body())
        stream = post(gw.url, key, body(stream=True, stream_options={"include_usage": True}))
        message = post(gw.url, key, body(), "/v1/messages")
        message_stream = post(gw.url, key, body(stream=True), "/v1/messages")
    assert calls(upstream) == 1  # every answer after the first came from the cache
    assert first[1]["x-llmrelay-cache"] == "miss"
    for status, headers, _ in (again, stream, message, message_stream):
        assert status == 200
        assert headers["x-llmrelay-cache"] == "hit"
        assert headers["x-llmrelay-provider"] == "fake"
    miss, hit = json.loads(first[2]), json.loads(again[2])
    assert hit["id"] != miss["id"]  # a response of its own
    for field in ("id", "created"):
        del miss[field], hit[field]
    assert hit == miss
    assert hit["choices"][0]["message"]["content"] == "Hello world"
    assert stream[1]["content-type"].startswith("text/event-stream")
    sent = events(stream[2])
    assert sent[-1] == "[DONE]"
    assert sent[-2]["choices"] == []
    assert sent[-2]["usage"]["total_tokens"] == 12  # the answer's usage, as it came
    assert sent[-3]["choices"][0]["finish_reason"] == "stop"
    assert streamed_text(stream[2]) == "Hello world"
    answer = json.loads(message[2])
    assert (answer["type"], answer["stop_reason"]) == ("message", "end_turn")
    assert answer["content"] == [{"type": "text", "text": "Hello world"}]
    kinds = [e["type"] for e in events(message_stream[2])]
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert b"event: message_stop" in message_stream[2]


def test_a_streamed_answer_with_reasoning_and_tool_calls_is_kept_whole(
    upstream: FakeOpenAI, tmp_path: Path
) -> None:
    upstream.requests.clear()
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {}}}]
    reply = Reply(None, reasoning="think", tool_calls=[ToolCall("weather", '{"city":"Oslo"}')])
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url, cache="on")["key"]
        upstream.script(reply)
        live = post(gw.url, key, body(stream=True, tools=tools))
        hit = post(gw.url, key, body(tools=tools))
        hit_stream = post(gw.url, key, body(stream=True, tools=tools))
    assert calls(upstream) == 1
    assert [h["x-llmrelay-cache"] for _, h, _ in (live, hit, hit_stream)] == ["miss", "hit", "hit"]
    message = json.loads(hit[2])["choices"][0]
    assert message["finish_reason"] == "tool_calls"
    assert message["message"]["reasoning_content"] == "think"
    call = message["message"]["tool_calls"][0]
    assert call["function"] == {"name": "weather", "arguments": '{"city":"Oslo"}'}

    def deltas(raw: bytes) -> list[Any]:
        return [e["choices"][0] for e in events(raw) if isinstance(e, dict) and e["choices"]]

    def without_role(choices: list[Any]) -> list[Any]:
        return [{**c, "delta": {k: v for k, v in c["delta"].items() if k != "role"}}
                for c in choices]  # fmt: skip

    # the hit streams what the live stream sent (whole pieces rather than word by word)
    live_calls = [c["delta"]["tool_calls"] for c in deltas(live[2]) if "tool_calls" in c["delta"]]
    hit_calls = [c["delta"]["tool_calls"] for c in deltas(hit_stream[2])
                 if "tool_calls" in c["delta"]]  # fmt: skip
    assert hit_calls == live_calls
    assert without_role(deltas(hit_stream[2]))[-1] == without_role(deltas(live[2]))[-1]


def test_sampled_requests_are_cached_only_when_asked(upstream: FakeOpenAI, tmp_path: Path) -> None:
    upstream.requests.clear()
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        on = create_key(gw.url, cache="on")["key"]
        always = create_key(gw.url, cache="always")["key"]
        warm = body(temperature=0.7)
        unset = {k: v for k, v in body(content="unset").items() if k != "temperature"}
        verdicts = [
            post(gw.url, on, warm)[1]["x-llmrelay-cache"],
            post(gw.url, on, warm)[1]["x-llmrelay-cache"],
            post(gw.url, on, unset)[1]["x-llmrelay-cache"],
            post(gw.url, on, unset)[1]["x-llmrelay-cache"],
        ]
        assert calls(upstream) == 4
        asked = {**warm, "cache": True}
        verdicts += [post(gw.url, on, asked)[1]["x-llmrelay-cache"] for _ in range(2)]
        assert calls(upstream) == 5
        verdicts += [post(gw.url, always, unset)[1]["x-llmrelay-cache"] for _ in range(2)]
        assert calls(upstream) == 6
    assert verdicts == ["bypass"] * 4 + ["miss", "hit", "miss", "hit"]


def test_keys_do_not_see_each_others_entries_unless_shared(
    upstream: FakeOpenAI, tmp_path: Path
) -> None:
    upstream.requests.clear()
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        one, two = (create_key(gw.url, cache="on")["key"] for _ in range(2))
        apart = [post(gw.url, k, body())[1]["x-llmrelay-cache"] for k in (one, two, two)]
    assert apart == ["miss", "miss", "hit"]
    assert calls(upstream) == 2
    (tmp_path / "shared").mkdir()
    shared = sqlite_config(upstream, tmp_path / "shared", cache_shared=True)
    with gateways([shared]) as (gw,):
        one, two = (create_key(gw.url, cache="on")["key"] for _ in range(2))
        together = [post(gw.url, k, body())[1]["x-llmrelay-cache"] for k in (one, two)]
    assert together == ["miss", "hit"]
    assert calls(upstream) == 3


def test_entries_expire_after_their_ttl(upstream: FakeOpenAI, tmp_path: Path) -> None:
    upstream.requests.clear()
    now = [1_000_000.0]
    with gateways([sqlite_config(upstream, tmp_path, cache_ttl=3600.0)]) as (gw,):
        assert gw.app.team is not None
        gw.app.team.store.clock = lambda: now[0]  # type: ignore[attr-defined]
        key = create_key(gw.url, cache="on", cache_ttl="1m")["key"]
        verdicts = [post(gw.url, key, body())[1]["x-llmrelay-cache"]]
        now[0] += 59
        verdicts.append(post(gw.url, key, body())[1]["x-llmrelay-cache"])
        now[0] += 2  # 61 s after it was kept: gone
        verdicts.append(post(gw.url, key, body())[1]["x-llmrelay-cache"])
        short = body(content="short", cache={"ttl": 5})  # a request may shorten the TTL
        verdicts.append(post(gw.url, key, short)[1]["x-llmrelay-cache"])
        now[0] += 6
        verdicts.append(post(gw.url, key, short)[1]["x-llmrelay-cache"])
        young = body(content="young", cache={"s-maxage": 0})  # only entries 0 s old: none
        verdicts += [post(gw.url, key, young)[1]["x-llmrelay-cache"] for _ in range(2)]
        verdicts.append(post(gw.url, key, {**young, "cache": {"s-maxage": 3600}})[1][
            "x-llmrelay-cache"
        ])  # fmt: skip
    assert verdicts == ["miss", "hit", "miss", "miss", "miss", "miss", "miss", "hit"]


def test_cut_streams_and_errors_are_never_kept(upstream: FakeOpenAI, tmp_path: Path) -> None:
    upstream.requests.clear()
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url, cache="on")["key"]
        upstream.script(CutStream(2), Status(500))
        cut = post(gw.url, key, body(stream=True))
        failed = post(gw.url, key, body())
        good = post(gw.url, key, body(stream=True))
        hit = post(gw.url, key, body(stream=True))
    assert cut[0] == 200
    assert b'"finish_reason":"stop"' not in cut[2]
    assert b"[DONE]" not in cut[2]  # the stream ended with an error event
    assert failed[0] == 502
    assert [r[1]["x-llmrelay-cache"] for r in (cut, failed, good, hit)] == [
        "miss", "miss", "miss", "hit",
    ]  # fmt: skip
    assert calls(upstream) == 3
    assert streamed_text(hit[2]) == streamed_text(good[2]) == "Hello world"


def test_a_request_can_bypass_the_cache(upstream: FakeOpenAI, tmp_path: Path) -> None:
    upstream.requests.clear()
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url, cache="always")["key"]
        verdicts = [
            post(gw.url, key, body())[1]["x-llmrelay-cache"],
            post(gw.url, key, body(), headers={"cache-control": "no-cache"})[1][
                "x-llmrelay-cache"
            ],
            post(gw.url, key, body(cache=False))[1]["x-llmrelay-cache"],
            post(gw.url, key, body(cache={"no-cache": True, "no-store": True}))[1][
                "x-llmrelay-cache"
            ],
            post(gw.url, key, body())[1]["x-llmrelay-cache"],
        ]  # fmt: skip
        assert calls(upstream) == 4
        other = body(content="other")
        verdicts.append(
            post(gw.url, key, other, headers={"Cache-Control": "no-store"})[1]["x-llmrelay-cache"]
        )
        verdicts.append(post(gw.url, key, other)[1]["x-llmrelay-cache"])  # nothing was kept
        status, _, wrong = post(gw.url, key, body(cache="yes"))
    assert verdicts == ["miss", "refresh", "bypass", "bypass", "hit", "miss", "miss"]
    assert calls(upstream) == 6
    assert status == 400
    assert json.loads(wrong)["error"]["param"] == "cache"


def test_a_key_without_caching_never_caches(upstream: FakeOpenAI, tmp_path: Path) -> None:
    upstream.requests.clear()
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url)["key"]
        replies = [post(gw.url, key, body(cache=True)) for _ in range(3)]
        plain = post(gw.url, GATEWAY_KEY, body(cache=True))  # not a virtual key: no cache
    assert calls(upstream) == 4
    assert all(r[0] == 200 and "x-llmrelay-cache" not in r[1] for r in [*replies, plain])


def test_hits_are_counted_in_metrics_and_usage(upstream: FakeOpenAI, tmp_path: Path) -> None:
    upstream.requests.clear()
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        created = create_key(gw.url, cache="on", rpm=10, budget=5.0)
        key = created["key"]
        miss = post(gw.url, key, body())
        hits = [post(gw.url, key, body()), post(gw.url, key, body(stream=True), "/v1/messages")]
        _, usage = admin(gw.url, "GET", f"/v1/usage?key={created['id']}")
        _, totals = admin(gw.url, "GET", "/v1/usage?by=model")
        request = urllib.request.Request(
            gw.url + "/metrics", headers={"authorization": f"Bearer {GATEWAY_KEY}"}
        )
        with urllib.request.urlopen(request) as reply:
            text = reply.read().decode()
        assert gw.app.team is not None
        spent = asyncio.run(gw.app.team.store.spend(created["id"]))
    assert calls(upstream) == 1
    # a hit counts against the requests per minute like any request
    remaining = [int(r[1]["x-ratelimit-remaining-requests"]) for r in (miss, *hits)]
    assert remaining == [9, 8, 7]
    records = usage["data"]
    assert [r["cached"] for r in records] == [False, True, True]
    assert (records[0]["prompt_tokens"], records[0]["completion_tokens"]) == (10, 2)
    assert records[0]["cost"] == 0.012
    for record in records[1:]:
        assert (record["prompt_tokens"], record["completion_tokens"], record["cost"]) == (0, 0, 0)
        assert record["provider"] == "fake"
        assert record["status"] == 200
    assert totals["data"][0]["requests"] == 3
    assert totals["data"][0]["cached"] == 2
    assert 'llmrelay_cache_hits_total{key="team",model="gpt-4o-mini"} 2' in text
    assert 'llmrelay_cache_misses_total{key="team",model="gpt-4o-mini"} 1' in text
    assert 'llmrelay_key_requests_total{key="team",model="gpt-4o-mini"} 3' in text
    assert 'llmrelay_key_prompt_tokens_total{key="team",model="gpt-4o-mini"} 10' in text
    assert 'llmrelay_provider_requests_total{provider="fake",status="200"} 1' in text
    assert spent == 12_000  # micro-USD: the miss alone


def test_the_official_sdks_read_hits(upstream: FakeOpenAI, tmp_path: Path) -> None:
    from anthropic import Anthropic
    from openai import OpenAI

    upstream.requests.clear()
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url, cache="always")["key"]
        openai = OpenAI(base_url=gw.base_url, api_key=key, max_retries=0)
        ask: dict[str, Any] = {"model": "gpt-4o-mini", "max_tokens": 4,
                               "messages": [{"role": "user", "content": "sdk"}]}  # fmt: skip
        first = openai.chat.completions.create(**ask)
        raw = openai.chat.completions.with_raw_response.create(**ask)
        hit = raw.parse()
        pieces = list(
            openai.chat.completions.create(
                **ask, stream=True, stream_options={"include_usage": True}
            )
        )
        claude = Anthropic(base_url=gw.url, api_key=key, max_retries=0)
        message = claude.messages.create(**ask)
        with claude.messages.stream(**ask) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
    assert calls(upstream) == 1
    assert raw.headers["x-llmrelay-cache"] == "hit"
    assert hit.choices[0].message.content == first.choices[0].message.content == "Hello world"
    assert hit.usage is not None
    assert hit.usage.total_tokens == 12
    assert "".join(p.choices[0].delta.content or "" for p in pieces if p.choices) == "Hello world"
    assert pieces[-1].usage is not None
    assert pieces[-1].usage.completion_tokens == 2
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello world"
    assert message.stop_reason == "end_turn"
    assert text == "Hello world"
    assert final.stop_reason == "end_turn"


def test_keys_without_caching_do_no_cache_work(
    upstream: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Off the hot path: a key known not to cache has no request hashed (only its first
    request, before the gateway knows the key, is)."""
    hashed: list[str] = []
    real = cache_module.digest

    def counting(*args: Any) -> str:
        hashed.append(real(*args))
        return hashed[-1]

    monkeypatch.setattr(cache_module, "digest", counting)
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        off = create_key(gw.url)["key"]
        on = create_key(gw.url, cache="on")["key"]
        for _ in range(3):
            post(gw.url, off, body(content="off"))
        assert len(hashed) == 1
        for _ in range(3):
            post(gw.url, on, body(content="on"))
    assert len(hashed) == 4
