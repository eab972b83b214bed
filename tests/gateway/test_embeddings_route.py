"""`POST /v1/embeddings` through the gateway, driven by the official openai SDK, in front of
the OpenAI-compatible fake: floats and base64, order, token ids, routing as chat routes, the
field allow-list and the caller's mistakes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from gateway.conftest import GATEWAY_KEY, OPENAI_KEY, Stack, stack_config
from support.fake_embeddings import vector
from support.fake_openai import FakeOpenAI
from support.gateway import RunningGateway, serve_gateway

pytestmark = pytest.mark.integration

TEXTS = ["the first text", "a second", "third of three"]


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key=GATEWAY_KEY, max_retries=0)


def post(stack: Stack, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {GATEWAY_KEY}"}
    return httpx.post(f"{stack.gateway.base_url}/embeddings", json=body, headers=headers)


def test_floats_in_input_order_with_usage(fresh: Stack, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, "llmrelay.server.access"), sdk(fresh.gateway.base_url) as c:
        answer = c.embeddings.create(model="text-embedding-3-small", input=TEXTS,
                                     encoding_format="float", dimensions=6)  # fmt: skip
    assert [d.index for d in answer.data] == [0, 1, 2]
    assert [d.embedding for d in answer.data] == [vector(t, 6) for t in TEXTS]
    assert answer.model == "text-embedding-3-small"
    assert answer.usage.prompt_tokens == answer.usage.total_tokens == 8  # words
    sent = fresh.openai.requests[-1]
    assert sent.path == "/v1/embeddings"
    assert sent.body == {"model": "text-embedding-3-small", "input": TEXTS,
                         "encoding_format": "float", "dimensions": 6}  # fmt: skip
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    line = next(r.getMessage() for r in caplog.records if "/v1/embeddings" in r.getMessage())
    assert "status=200" in line
    assert "provider=fake" in line
    assert "prompt_tokens=8" in line
    assert OPENAI_KEY not in caplog.text
    assert GATEWAY_KEY not in caplog.text


def test_base64_as_the_sdk_asks_by_default(fresh: Stack) -> None:
    with sdk(fresh.gateway.base_url) as client:
        answer = client.embeddings.create(model="text-embedding-3-small", input=TEXTS)
    # the SDK asked for base64 and decoded it: the fake's float32-exact values come back
    assert [d.embedding for d in answer.data] == [vector(t) for t in TEXTS]
    raw = post(fresh, {"model": "m", "input": "one", "encoding_format": "base64"}).json()
    assert isinstance(raw["data"][0]["embedding"], str)
    assert fresh.openai.requests[-1].body["encoding_format"] == "float"  # encoded here


def test_token_ids_and_a_single_string(fresh: Stack) -> None:
    with sdk(fresh.gateway.base_url) as client:
        ids = client.embeddings.create(model="m", input=[[1, 2, 3], [4]], encoding_format="float")
        one = client.embeddings.create(model="m", input="alone", encoding_format="float")
    assert [d.embedding for d in ids.data] == [vector("1 2 3"), vector("4")]
    assert ids.usage.prompt_tokens == 4
    assert fresh.openai.requests[-2].body["input"] == [[1, 2, 3], [4]]
    assert one.data[0].embedding == vector("alone")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "m"}, "input"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": [1, "a"]}, "input"),
        ({"model": "m", "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": "m", "input": "x", "dimensions": "8"}, "dimensions"),
        ({"model": "m", "input": "x", "encoding_format": "int8"}, "encoding_format"),
        ({"model": "m", "input": "x", "api_base": "http://evil"}, "api_base"),
        ({"model": "m", "input": "x", "base_url": "http://evil"}, "base_url"),
        ({"model": "m", "input": "x", "api_key": "sk-mine"}, "api_key"),
        ({"model": "m", "input": "x", "proxy": "http://evil"}, "proxy"),
        ({"model": "m", "input": "x", "headers": {"a": "b"}}, "headers"),
        ({"model": "m", "input": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_requests_are_400_naming_the_field(
    fresh: Stack, body: dict[str, Any], param: str
) -> None:
    answer = post(fresh, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param
    assert fresh.openai.requests == []


def test_unknown_provider_is_404_and_the_key_is_required(fresh: Stack) -> None:
    answer = post(fresh, {"model": "m", "input": "x", "provider": "NoSuchProvider"})
    assert answer.status_code == 404
    assert answer.json()["error"]["param"] == "provider"
    assert httpx.post(f"{fresh.gateway.base_url}/embeddings", json={}).status_code == 401


@pytest.fixture(scope="module")
def by_name() -> Iterator[tuple[RunningGateway, FakeOpenAI]]:
    """A gateway without a default provider: models route by name, as in the client."""
    with (
        pytest.MonkeyPatch.context() as env,
        FakeOpenAI.in_thread(api_key=OPENAI_KEY) as fake,
    ):
        env.setattr("llmrelay.providers.routing.local_servers_listing", _no_local_servers)
        env.setenv("TEST_UPSTREAM_KEY", OPENAI_KEY)
        models = {"emb": ("fake/text-embedding-3-small",), "chain": ("dead/e", "fake/e")}
        config = stack_config(fake.base_url, default_provider=None, models=models)
        with serve_gateway(config) as gateway:
            yield gateway, fake


async def _no_local_servers(name: str, providers: Any) -> list[Any]:
    return []


def test_config_routes_send_the_providers_model_id(
    by_name: tuple[RunningGateway, FakeOpenAI],
) -> None:
    gateway, fake = by_name
    with sdk(gateway.base_url) as client:
        answer = client.embeddings.create(model="emb", input="x", encoding_format="float")
        assert answer.data[0].embedding == vector("x")
        assert fake.requests[-1].body["model"] == "text-embedding-3-small"
        with pytest.raises(openai.BadRequestError, match="one provider"):  # no failover here
            client.embeddings.create(model="chain", input="x")


def test_unknown_model_is_404_on_both_routes(by_name: tuple[RunningGateway, FakeOpenAI]) -> None:
    with sdk(by_name[0].base_url) as client:
        with pytest.raises(openai.NotFoundError, match="no-such-model"):
            client.embeddings.create(model="no-such-model", input="x")
        with pytest.raises(openai.NotFoundError, match="no-such-model"):
            client.responses.create(model="no-such-model", input="x")
        with pytest.raises(openai.NotFoundError, match="no-such-model"):
            list(client.responses.create(model="no-such-model", input="x", stream=True))
