"""The response cache shared through a real redis-server: an answer kept by one gateway is a
hit on another — here a separate `python -m llmrelay.server` process, which shares nothing
with the first but Redis."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from support.fake_openai import FakeOpenAI
from support.gateway import serve_process

from .conftest import ADMIN_KEY, GATEWAY_KEY, RedisServer, create_key, gateways, post, team_config
from .test_cache import body, calls, events, streamed_text


@contextlib.contextmanager
def gateway_process(upstream: FakeOpenAI, state: str, tmp_path: Path) -> Iterator[str]:
    """A gateway in its own process (the upstream's key comes through the environment)."""
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[gateway]\ndefault_provider = "fake"\n\n[upstreams.fake]\n'
        f'base_url = "{upstream.base_url}"\napi_key_env = "TEST_UPSTREAM_KEY"\n'
    )
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4o-mini": {"input": 1000.0, "output": 1000.0}}))
    args = ["--config", str(config), "--api-key", GATEWAY_KEY, "--state", state, "--admin-key",
            ADMIN_KEY, "--prices", str(prices), "--log-level", "warning"]  # fmt: skip
    log = tmp_path / "gateway.log"
    with serve_process(args, log=log) as (url, _):
        yield url
    assert "Traceback" not in log.read_text()


def test_a_miss_on_one_instance_is_a_hit_on_another(
    upstream: FakeOpenAI, redis_server: RedisServer, tmp_path: Path
) -> None:
    upstream.requests.clear()
    config = team_config(upstream, redis_server.url, tmp_path)
    with gateways([config]) as (one,), gateway_process(upstream, redis_server.url, tmp_path) as two:
        key = create_key(one.url, cache="on")["key"]
        miss = post(one.url, key, body())
        hit = post(two, key, body())
        hit_stream = post(two, key, body(stream=True), "/v1/messages")
        streamed_miss = post(two, key, body(stream=True, content="other"))
        back = post(one.url, key, body(stream=True, content="other"))
        assert calls(upstream) == 2  # one per question, whichever instance asked
    verdicts = [r[1]["x-llmrelay-cache"] for r in (miss, hit, hit_stream, streamed_miss, back)]
    assert verdicts == ["miss", "hit", "hit", "miss", "hit"]
    first, again = json.loads(miss[2]), json.loads(hit[2])
    assert again["choices"] == first["choices"]
    assert again["usage"] == first["usage"]
    assert [e["type"] for e in events(hit_stream[2])][-1] == "message_stop"
    assert streamed_text(back[2]) == streamed_text(streamed_miss[2]) == "Hello world"
    assert events(back[2])[-1] == "[DONE]"
