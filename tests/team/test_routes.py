"""Virtual keys on /v1/embeddings and /v1/responses: admitted against the key's limits, billed
from the upstream's usage as chat is, refused when revoked; responses kept per key."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from support.fake_openai import FakeOpenAI

from .conftest import admin, create_key, gateways, team_config

EMBED = {"model": "gpt-4o-mini", "input": ["one two", "three"]}
RESPOND = {"model": "gpt-4o-mini", "input": "Hi"}


def stream(url: str, key: str) -> str:
    """A streamed response's events; the `event:` line of the last one."""
    request = urllib.request.Request(
        url + "/v1/responses", json.dumps({**RESPOND, "stream": True}).encode(),
        {"authorization": f"Bearer {key}", "content-type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request) as reply:
        text: str = reply.read().decode()
    return text.strip().split("\n\n")[-1].split("\n")[0]


def test_embeddings_and_responses_are_billed_from_upstream_usage(
    upstream: FakeOpenAI, tmp_path: Path
) -> None:
    with gateways([team_config(upstream, f"sqlite:///{tmp_path / 's.db'}", tmp_path)]) as (gw,):
        key = create_key(gw.url)["key"]
        embedded = admin(gw.url, "POST", "/v1/embeddings", EMBED, key=key)
        responded = admin(gw.url, "POST", "/v1/responses", RESPOND, key=key)
        streamed = stream(gw.url, key)
        _, usage = admin(gw.url, "GET", "/v1/usage")  # written behind the answers: drained
    assert embedded[0] == responded[0] == 200
    assert streamed.endswith("event: response.completed")
    rows = sorted(usage["data"], key=lambda r: r["prompt_tokens"])
    assert [(r["prompt_tokens"], r["completion_tokens"]) for r in rows] == [
        (3, 0), (10, 2), (10, 2)  # words embedded; the fake's chat usage
    ]  # fmt: skip


def test_rpm_limits_every_admitted_route_and_revoked_keys_are_refused(
    upstream: FakeOpenAI, tmp_path: Path
) -> None:
    with gateways([team_config(upstream, f"sqlite:///{tmp_path / 's.db'}", tmp_path)]) as (gw,):
        made = create_key(gw.url, rpm=2)
        key = made["key"]
        statuses = [admin(gw.url, "POST", path, body, key=key)[0]
                    for path, body in (("/v1/embeddings", EMBED), ("/v1/responses", RESPOND),
                                       ("/v1/embeddings", EMBED))]  # fmt: skip
        admin(gw.url, "DELETE", f"/v1/admin/keys/{made['id']}")
        revoked = [admin(gw.url, "POST", path, body, key=key)[0]
                   for path, body in (("/v1/embeddings", EMBED),
                                      ("/v1/responses", RESPOND))]  # fmt: skip
    assert statuses == [200, 200, 429]
    assert revoked == [401, 401]


def test_a_response_is_continued_only_with_the_key_that_made_it(
    upstream: FakeOpenAI, tmp_path: Path
) -> None:
    with gateways([team_config(upstream, f"sqlite:///{tmp_path / 's.db'}", tmp_path)]) as (gw,):
        alice, bob = create_key(gw.url)["key"], create_key(gw.url)["key"]
        _, first = admin(gw.url, "POST", "/v1/responses", RESPOND, key=alice)
        body = {**RESPOND, "previous_response_id": first["id"]}
        by_bob = admin(gw.url, "POST", "/v1/responses", body, key=bob)
        by_alice = admin(gw.url, "POST", "/v1/responses", body, key=alice)
    assert by_bob[0] == 404
    assert by_bob[1]["error"]["code"] == "previous_response_not_found"
    assert by_alice[0] == 200
    assert json.dumps(by_alice[1]).count(first["id"]) == 1  # its previous_response_id
