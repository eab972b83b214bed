"""The team layer on SQLite (one instance): limits and budgets exact under concurrency, keys
hashed at rest, revoked/expired keys refused, admin routes only for the admin key."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import urllib.request
from pathlib import Path

from llmrelay.server.config import GatewayConfig
from support.fake_openai import FakeOpenAI

from .conftest import (
    GATEWAY_KEY,
    admin,
    burst,
    chat_body,
    create_key,
    gateways,
    team_config,
)


def sqlite_config(upstream: FakeOpenAI, tmp_path: Path, **changes: object) -> GatewayConfig:
    return team_config(upstream, f"sqlite:///{tmp_path / 'state.db'}", tmp_path, **changes)


def test_rpm_admits_exactly_the_limit_of_concurrent_requests(
    upstream: FakeOpenAI, tmp_path: Path
) -> None:
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url, rpm=10)["key"]
        results = burst([gw.url], key, 20)
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] * 10 + [429] * 10
    for status, headers, body in results:
        assert headers["x-ratelimit-limit-requests"] == "10"
        assert headers["x-ratelimit-reset-requests"].endswith("s")
        if status == 429:
            error = json.loads(body)["error"]
            assert error["type"] == "requests"
            assert "Limit 10" in error["message"]
            assert 1 <= int(headers["retry-after"]) <= 60
            assert headers["x-ratelimit-remaining-requests"] == "0"


def test_tokens_per_minute_counts_upstream_usage(upstream: FakeOpenAI, tmp_path: Path) -> None:
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url, tpm=100)["key"]
        first = burst([gw.url], key, 1)[0]
        assert first[0] == 200
        assert first[1]["x-ratelimit-limit-tokens"] == "100"
        # settled at the upstream's 10 + 2 tokens, not the estimate
        results = [burst([gw.url], key, 1)[0] for _ in range(12)]
    refused = [r for r in results if r[0] == 429]
    assert refused, "the token limit never refused"
    assert json.loads(refused[0][2])["error"]["type"] == "tokens"
    admitted = 1 + sum(r[0] == 200 for r in results)
    assert admitted * 12 <= 100 + 12  # at most one request's worth over (estimates admit it)


def test_budget_holds_under_concurrency(upstream: FakeOpenAI, tmp_path: Path) -> None:
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url, budget=0.1)
        results = []
        for _ in range(3):
            results += burst([gw.url], key["key"], 10)
        status, usage = admin(gw.url, "GET", f"/v1/usage?key={key['id']}")
        assert gw.app.team is not None
        spent = asyncio.run(gw.app.team.store.spend(key["id"]))
    assert status == 200
    refused = [r for r in results if r[0] == 402]
    assert refused
    assert all(r[0] in (200, 402) for r in results)
    assert "budget of $0.10" in json.loads(refused[0][2])["error"]["message"]
    total = sum(record["cost"] for record in usage["data"])
    assert len(usage["data"]) == sum(r[0] == 200 for r in results)
    assert total <= 0.1
    assert spent / 1e6 == round(total, 6)


def test_keys_are_hashed_at_rest(upstream: FakeOpenAI, tmp_path: Path) -> None:
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        created = create_key(gw.url, name="alice")
        status, listed = admin(gw.url, "GET", "/v1/admin/keys")
    key = created["key"]
    assert key.startswith("sk-lr-")
    assert len(key) > 40
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert key.encode() not in stored
    assert hashlib.sha256(key.encode()).hexdigest().encode() in stored
    assert status == 200
    assert key not in json.dumps(listed)
    assert listed["data"][0]["name"] == "alice"
    assert "hash" not in listed["data"][0]


def test_revoked_and_expired_keys_are_refused(upstream: FakeOpenAI, tmp_path: Path) -> None:
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        live = create_key(gw.url)
        expired = create_key(gw.url, expires=time.time() - 1)
        assert burst([gw.url], live["key"], 1)[0][0] == 200
        assert admin(gw.url, "DELETE", f"/v1/admin/keys/{live['id']}")[0] == 200
        revoked = burst([gw.url], live["key"], 1)[0]
        late = burst([gw.url], expired["key"], 1)[0]
        unknown = burst([gw.url], "sk-lr-not-a-key", 1)[0]
    assert revoked[0] == 401
    assert "revoked" in json.loads(revoked[2])["error"]["message"]
    assert late[0] == 401
    assert "expired" in json.loads(late[2])["error"]["message"]
    assert unknown[0] == 401


def test_admin_routes_refuse_ordinary_keys(upstream: FakeOpenAI, tmp_path: Path) -> None:
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url)["key"]
        for given in (key, GATEWAY_KEY, "", "admin"):
            for method, path in (
                ("GET", "/v1/admin/keys"),
                ("POST", "/v1/admin/keys"),
                ("DELETE", "/v1/admin/keys/x"),
                ("GET", "/v1/usage"),
            ):
                status, body = admin(gw.url, method, path, {"name": "x"}, key=given)
                assert status == 401, (given, method, path)
                assert body["error"]["type"] == "invalid_request_error"


def test_models_allowed_per_key(upstream: FakeOpenAI, tmp_path: Path) -> None:
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url, models=["gpt-4o"])["key"]
        status, _, body = burst([gw.url], key, 1)[0]
    assert status == 403
    assert "gpt-4o-mini" in json.loads(body)["error"]["message"]


def test_streams_ask_upstream_for_usage_and_are_billed(
    upstream: FakeOpenAI, tmp_path: Path
) -> None:
    upstream.requests.clear()
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url)
        status, _, body = burst([gw.url], key["key"], 1, chat_body(stream=True))[0]
        _, usage = admin(gw.url, "GET", "/v1/usage?by=model")
        request = urllib.request.Request(
            gw.url + "/metrics", headers={"authorization": f"Bearer {GATEWAY_KEY}"}
        )
        with urllib.request.urlopen(request) as reply:
            text = reply.read().decode()
    assert status == 200
    assert b'"usage"' not in body
    sent = upstream.requests[-1]
    assert sent.body["stream_options"] == {"include_usage": True}
    row = usage["data"][0]
    assert row["model"] == "gpt-4o-mini"
    assert row["requests"] == 1
    assert (row["prompt_tokens"], row["completion_tokens"]) == (10, 2)
    assert row["cost"] == 0.012  # 12 tokens at $1000 per million
    assert 'llmrelay_key_requests_total{key="team",model="gpt-4o-mini"} 1' in text


def test_virtual_keys_on_other_routes(upstream: FakeOpenAI, tmp_path: Path) -> None:
    """A valid key lists models; a revoked or made-up one gets 401 on every route."""
    with gateways([sqlite_config(upstream, tmp_path)]) as (gw,):
        key = create_key(gw.url)
        good = admin(gw.url, "GET", "/v1/models", key=key["key"])[0]
        admin(gw.url, "DELETE", f"/v1/admin/keys/{key['id']}")
        statuses = [
            admin(gw.url, method, path, {}, key=given)[0]
            for given in (key["key"], "sk-lr-made-up")
            for method, path in (("GET", "/v1/models"), ("POST", "/v1/nothing"),
                                 ("POST", "/v1/models"))
        ]  # fmt: skip
    assert good == 200
    assert statuses == [401] * 6
