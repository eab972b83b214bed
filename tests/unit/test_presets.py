"""Presets are data rows exposed as provider classes; configuration errors come before I/O."""

from __future__ import annotations

import pytest

import llmrelay
from llmrelay.errors import InvalidRequestError, MissingAuthError
from llmrelay.Provider.openai_compatible import OpenaiTemplate
from llmrelay.Provider.presets import PRESETS

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("row", PRESETS, ids=lambda r: r.name)
def test_every_preset_is_a_provider_class(row: object) -> None:
    name = row.name  # type: ignore[attr-defined]
    provider = getattr(llmrelay.Provider, name)
    assert issubclass(provider, OpenaiTemplate)
    assert provider.__name__ == name
    assert provider.working
    assert name in dir(llmrelay.Provider)


@pytest.mark.parametrize("row", [r for r in PRESETS if r.needs_auth], ids=lambda r: r.name)
def test_missing_key_names_the_variable_before_any_io(
    row: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, variable = row.name, row.api_key_env  # type: ignore[attr-defined]
    assert variable
    monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://unreachable.invalid")
    provider = getattr(llmrelay.Provider, name)
    with pytest.raises(MissingAuthError, match=variable):
        list(provider.create_completion("", MESSAGES))


def test_key_from_environment_is_sent_as_bearer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk_test_value")
    groq = llmrelay.Provider.Groq
    assert groq._headers(groq.resolve_api_key(), stream=True)["Authorization"] == (
        "Bearer gsk_test_value"
    )


def test_azure_takes_its_endpoint_and_api_key_header(monkeypatch: pytest.MonkeyPatch) -> None:
    azure = llmrelay.Provider.AzureOpenAI
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(InvalidRequestError, match="AZURE_OPENAI_ENDPOINT"):
        azure.resolve_api_base()
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/")
    assert azure.resolve_api_base() == "https://res.openai.azure.com/openai/v1"
    headers = azure._headers("azkey", stream=False)
    assert headers["api-key"] == "azkey"
    assert "Authorization" not in headers


def test_local_servers_need_no_key_and_take_a_base_url_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ollama = llmrelay.Provider.Ollama
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    assert ollama.resolve_api_key() is None
    assert ollama.resolve_api_base() == "http://127.0.0.1:11434/v1"
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://gpu-box:11434/v1/")
    assert ollama.resolve_api_base() == "http://gpu-box:11434/v1"


@pytest.mark.parametrize(
    ("params", "error", "fragment"),
    [
        ({"api_base": "ftp://x"}, InvalidRequestError, "must be an http"),
        ({"n": 2}, InvalidRequestError, "n > 1"),
        ({"max_retries": -1}, InvalidRequestError, "max_retries"),
        ({"timeout": -3}, InvalidRequestError, "timeout must be a positive"),
        ({"proxy": "ftp://proxy:21"}, InvalidRequestError, "unsupported proxy scheme"),
        ({"web_search": True}, InvalidRequestError, "OpenaiTemplate has no web search tool"),
        ({"guidance_scale": 2.0}, InvalidRequestError, r"unsupported parameter\(s\)"),
    ],
)
def test_bad_parameters_are_refused_clearly(
    params: dict[str, object], error: type, fragment: str
) -> None:
    params = {"api_base": "http://127.0.0.1:9/v1", "max_retries": 0, **params}
    with pytest.raises(error, match=fragment):
        list(OpenaiTemplate.create_completion("m", MESSAGES, **params))


def test_template_without_base_url_says_how_to_give_one() -> None:
    with pytest.raises(InvalidRequestError, match="pass api_base="):
        list(OpenaiTemplate.create_completion("m", MESSAGES))
