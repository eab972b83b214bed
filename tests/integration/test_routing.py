"""A model name routes the same way from `ChatCompletion`, `Client` and `AsyncClient`:
to configured providers, to a running local server that lists it, and never with a key
the caller gave for something else."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

import llmrelay
from llmrelay import models
from llmrelay.client import AsyncClient, Client
from llmrelay.errors import InvalidRequestError, MissingAuthError, ModelNotFoundError
from llmrelay.providers.discovery import LOCAL_SERVERS
from llmrelay.providers.registry import key_variables, provider_by_name
from llmrelay.providers.routing import DEFAULT_PROVIDERS, providers_for_model
from support.fake_openai import FakeOpenAI, Reply

MESSAGES = [{"role": "user", "content": "hi"}]
ALL_ROUTED = sorted({n for m in models.MODELS for n in m.providers} | set(DEFAULT_PROVIDERS))


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there any more


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No provider configured and no local server running (each moved to a closed port)."""
    for name in ALL_ROUTED:
        for variable in key_variables(provider_by_name(name)):
            monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    for name in LOCAL_SERVERS:
        monkeypatch.setenv(provider_by_name(name).api_base_env, closed_port_url())  # type: ignore[attr-defined]
    return monkeypatch


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.in_thread(models=["gpt-4o-mini", "my-local-model"]) as server:
        yield server


@pytest.mark.parametrize(
    ("model", "provider"),
    [(m.name, p) for m in models.MODELS for p in m.providers],
)
async def test_every_provider_of_every_model_is_routed_to_when_configured(
    no_keys: pytest.MonkeyPatch, model: str, provider: str
) -> None:
    variable = key_variables(provider_by_name(provider))[0]
    no_keys.setenv(variable, "configured")
    assert [p.__name__ for p in await providers_for_model(model)] == [provider]


@pytest.mark.parametrize("model", ["gemini-2.5-pro", "claude-sonnet-4-5", "gpt-4o"])
def test_an_unconfigured_model_names_the_variables_to_set(
    no_keys: pytest.MonkeyPatch, model: str
) -> None:
    with pytest.raises(MissingAuthError) as info:
        Client().chat.completions.create(model=model, messages=MESSAGES)
    for name in models.get(model).providers:  # type: ignore[union-attr]
        assert key_variables(provider_by_name(name))[0] in str(info.value)
    assert info.value.status_code == 401


def test_gemini_accepts_either_of_its_key_variables(no_keys: pytest.MonkeyPatch) -> None:
    no_keys.setenv("GOOGLE_API_KEY", "k")
    assert llmrelay.providers.registry.is_configured(llmrelay.Provider.Gemini)
    no_keys.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/keys/sa.json")
    assert llmrelay.providers.registry.is_configured(llmrelay.Provider.VertexAI)


async def test_a_model_name_routes_alike_from_every_entry_point(
    no_keys: pytest.MonkeyPatch, fake: FakeOpenAI
) -> None:
    no_keys.setenv("OPENAI_API_KEY", "sk-from-env")
    no_keys.setenv("OPENAI_BASE_URL", fake.base_url)
    fake.script(Reply("one"), Reply("two"), Reply("three"), Reply("four"))
    assert llmrelay.ChatCompletion.create("gpt-4o-mini", MESSAGES) == "one"
    assert await llmrelay.ChatCompletion.create_async("gpt-4o-mini", MESSAGES) == "two"
    sync = Client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert (sync.choices[0].message.content, sync.provider) == ("three", "OpenAI")  # type: ignore[union-attr]
    answer = await AsyncClient().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert (answer.choices[0].message.content, answer.provider) == ("four", "OpenAI")
    chats = [r for r in fake.requests if r.path == "/v1/chat/completions"]
    assert [r.headers["authorization"] for r in chats] == ["Bearer sk-from-env"] * 4


def test_a_client_given_only_an_api_key_talks_to_openai_with_it(
    no_keys: pytest.MonkeyPatch, fake: FakeOpenAI
) -> None:
    no_keys.setenv("OPENAI_BASE_URL", fake.base_url)  # where "OpenAI" is, for this test
    completion = Client(api_key="sk-given").chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES
    )
    assert completion.provider == "OpenAI"  # type: ignore[union-attr]
    assert fake.requests[-1].headers["authorization"] == "Bearer sk-given"
    completion = Client(api_key="sk-other", base_url=fake.base_url).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES
    )
    assert fake.requests[-1].headers["authorization"] == "Bearer sk-other"


def test_a_key_without_a_provider_is_refused_not_dropped(no_keys: pytest.MonkeyPatch) -> None:
    no_keys.setenv("OPENAI_API_KEY", "sk-from-env")
    with pytest.raises(InvalidRequestError, match="api_key given without a provider"):
        llmrelay.ChatCompletion.create("gpt-4o-mini", MESSAGES, api_key="sk-for-someone-else")


def test_a_model_a_running_local_server_lists_is_found(
    no_keys: pytest.MonkeyPatch, fake: FakeOpenAI
) -> None:
    no_keys.setenv("OLLAMA_BASE_URL", fake.base_url)
    for _ in range(2):
        completion = Client().chat.completions.create(model="my-local-model", messages=MESSAGES)
        assert completion.provider == "Ollama"  # type: ignore[union-attr]
    assert fake.requests[-1].body["model"] == "my-local-model"  # type: ignore[index]
    listings = [r for r in fake.requests if r.path == "/v1/models"]
    assert len(listings) == 1  # the list is reused for a while
    with pytest.raises(ModelNotFoundError, match="no running local server lists it"):
        Client().chat.completions.create(model="not-pulled", messages=MESSAGES)


def test_the_routing_decision_is_logged_without_keys(
    no_keys: pytest.MonkeyPatch, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    no_keys.setenv("OPENAI_API_KEY", "sk-secret-routing-key")
    no_keys.setenv("OPENAI_BASE_URL", fake.base_url)
    with caplog.at_level(logging.DEBUG, logger="llmrelay"):
        Client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "model 'gpt-4o-mini': providers OpenAI" in text
    assert "answering with OpenAI" in text
    assert "sk-secret-routing-key" not in text


async def test_with_nothing_configured_the_local_model_answers(no_keys: pytest.MonkeyPatch) -> None:
    local = provider_by_name("LocalLlama")
    assert await providers_for_model("") == [local]
    assert await providers_for_model("/models/any.gguf") == [local]
    no_keys.setenv("ANTHROPIC_API_KEY", "configured")
    assert [p.__name__ for p in await providers_for_model("")] == ["Anthropic"]
