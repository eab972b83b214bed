"""`OllamaNative` against the fake Ollama server: configuration (`OLLAMA_HOST`, keys), the
model taken from `/api/tags`, what is sent, what comes back, and the server's errors."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llmrelay.client import AsyncClient
from llmrelay.errors import (
    BadRequestError,
    IncompleteResponseError,
    InvalidRequestError,
    ModelNotFoundError,
    ResponseError,
    ResponseStatusError,
    UnsupportedParameterError,
)
from llmrelay.Provider.ollama_native import OllamaNative
from llmrelay.providers.discovery import is_available
from llmrelay.providers.response import FinishReason, Reasoning, ToolCalls, Usage
from support.fake_ollama import FakeOllama, Lines
from support.fake_openai import CutStream, Reply, Status, StreamThenError, ToolCall
from support.fake_openai import Usage as UsageSpec
from support.faults import Body, FaultServer

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "hi"}]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOllama]:
    async with FakeOllama(models=["llama3.2:latest", "qwen3:0.6b"]) as server:
        yield server


async def ask(
    fake: FakeOllama | None, model: str = "llama3.2", messages: Any = MESSAGES, **params: Any
) -> list[Any]:
    if fake is not None:
        params = {"api_base": fake.base_url, **params}
    create = OllamaNative.get_async_create_function()
    return [chunk async for chunk in create(model, messages, **params)]


async def drain(fake: FakeOllama, into: list[Any]) -> None:
    """Stream an answer into ``into`` (kept when the stream fails)."""
    create = OllamaNative.get_async_create_function()
    async for chunk in create("llama3.2", MESSAGES, api_base=fake.base_url):
        into.append(chunk)


def text(chunks: list[Any]) -> str:
    return "".join(c for c in chunks if isinstance(c, str))


# -- configuration ----------------------------------------------------------------------------


def test_class_metadata() -> None:
    assert OllamaNative.needs_auth is False
    assert OllamaNative.default_model is None
    assert OllamaNative.resolve_api_base() == "http://127.0.0.1:11434"
    assert OllamaNative.resolve_api_base("http://box:11434/api/") == "http://box:11434"
    assert OllamaNative.resolve_api_base("box:8080") == "http://box:8080"
    assert OllamaNative.resolve_api_key() is None
    assert {"think", "web_search", "tools", "seed"} <= set(OllamaNative.get_parameters())


async def test_ollama_host_without_scheme(
    fake: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake.base_url.removeprefix("http://"))
    assert OllamaNative.resolve_api_base() == fake.base_url
    assert text(await ask(None)) == "Hello world"
    assert fake.requests[0].path == "/api/chat"
    assert await is_available(OllamaNative)


async def test_ollama_host_that_is_not_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "ftp://box")
    with pytest.raises(InvalidRequestError) as info:
        await ask(None)
    assert info.value.provider == "OllamaNative"


async def test_no_key_no_authorization_header(fake: FakeOllama) -> None:
    await ask(fake)
    assert "authorization" not in fake.requests[0].headers
    assert fake.requests[0].headers["accept"] == "application/x-ndjson"


async def test_key_from_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeOllama(api_key="ollama-secret-key") as fake:
        with pytest.raises(Exception, match="unauthorized") as info:
            await ask(fake, max_retries=0)
        assert info.value.status_code == 401  # type: ignore[attr-defined]
        assert text(await ask(fake, api_key="ollama-secret-key")) == "Hello world"
        monkeypatch.setenv("OLLAMA_API_KEY", "ollama-secret-key")
        assert text(await ask(fake)) == "Hello world"
        assert fake.requests[-1].headers["authorization"] == "Bearer ollama-secret-key"
        fake.script(Status(500, body={"error": "bad key ollama-secret-key"}))
        with pytest.raises(ResponseStatusError) as error:
            await ask(fake, max_retries=0)
        assert "ollama-secret-key" not in str(error.value)


# -- models -----------------------------------------------------------------------------------


async def test_without_a_model_the_first_listed_one_is_used(fake: FakeOllama) -> None:
    await ask(fake, model="")
    await ask(fake, model="")
    assert [r.path for r in fake.requests] == ["/api/tags", "/api/chat", "/api/chat"]  # cached
    assert fake.requests[1].body["model"] == "llama3.2:latest"
    assert await OllamaNative.get_models_async(api_base=fake.base_url) == [
        "llama3.2:latest", "qwen3:0.6b"]  # fmt: skip


async def test_without_a_model_and_none_pulled() -> None:
    async with FakeOllama(models=[]) as fake:
        with pytest.raises(ModelNotFoundError, match="ollama pull"):
            await ask(fake, model="")
        assert [r.path for r in fake.requests] == ["/api/tags"]


def test_get_models_from_sync_code() -> None:
    with FakeOllama.in_thread(models=["llama3.2:latest", "qwen3:0.6b"]) as fake:
        models = OllamaNative.get_models(api_base=fake.base_url, timeout=10)
    assert models == ["llama3.2:latest", "qwen3:0.6b"]


async def test_llmrelay_model_names_map_to_ollama_tags(fake: FakeOllama) -> None:
    await ask(fake, model="llama-3.1-8b")
    await ask(fake, model="qwen3:0.6b")
    assert [r.body["model"] for r in fake.requests] == ["llama3.1:8b", "qwen3:0.6b"]


async def test_a_model_the_server_lacks_is_model_not_found(fake: FakeOllama) -> None:
    fake.script(Status(404))
    with pytest.raises(ModelNotFoundError) as info:
        await ask(fake, model="nope")
    error = info.value
    assert (error.status_code, error.provider) == (404, "OllamaNative")
    assert "model 'nope' not found" in str(error)


# -- what is sent -----------------------------------------------------------------------------


async def test_parameters_are_sent_as_ollama_takes_them(fake: FakeOllama) -> None:
    await ask(
        fake,
        stream=False,
        temperature=0.3,
        top_p=0.8,
        seed=42,
        stop="END",
        max_tokens=100,
        think=True,
        keep_alive=0,
        options={"num_ctx": 8192},
        response_format={"type": "json_object"},
    )
    body = fake.requests[0].body
    assert body == {
        "model": "llama3.2",
        "messages": MESSAGES,
        "stream": False,
        "format": "json",
        "think": True,
        "keep_alive": 0,
        "options": {"num_ctx": 8192, "seed": 42, "temperature": 0.3, "top_p": 0.8,
                    "num_predict": 100, "stop": ["END"]},
    }  # fmt: skip
    assert fake.requests[0].headers["accept"] == "application/json"


async def test_media_go_as_raw_base64_images(fake: FakeOllama) -> None:
    await ask(fake, media=[(PNG, "dot.png")])
    [message] = fake.requests[0].body["messages"]
    assert message["images"] == [base64.b64encode(PNG).decode()]


async def test_image_urls_to_private_hosts_are_refused_before_any_request(
    fake: FakeOllama,
) -> None:
    image = f"http://127.0.0.1:{fake.base_url.rsplit(':', 1)[1]}/cat.png"
    with pytest.raises(InvalidRequestError, match="loopback"):
        await ask(fake, media=[image])
    part = {"type": "image_url", "image_url": {"url": "http://169.254.169.254/cat.png"}}
    with pytest.raises(InvalidRequestError, match="metadata"):
        await ask(fake, messages=[{"role": "user", "content": [part]}])
    assert fake.requests == []


async def test_image_urls_are_fetched_and_sent_as_bytes_when_private_hosts_are_allowed(
    fake: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMRELAY_ALLOW_PRIVATE_MEDIA", "1")
    async with FaultServer(Body(PNG, content_type="image/png")) as images:
        part = {"type": "image_url", "image_url": {"url": f"{images.url}/b.png"}}
        content = [{"type": "text", "text": "two"}, part]
        await ask(fake, messages=[{"role": "user", "content": content}], media=[images.url])
    assert sorted(r[1] for r in images.requests) == ["/", "/b.png"]
    [message] = fake.requests[0].body["messages"]
    assert message["images"] == [base64.b64encode(PNG).decode()] * 2


async def test_web_search_is_refused_clearly(fake: FakeOllama) -> None:
    with pytest.raises(UnsupportedParameterError, match="no web search tool") as info:
        await ask(fake, web_search=True)
    assert info.value.provider == "OllamaNative"
    assert fake.requests == []


async def test_unknown_parameters_are_refused(fake: FakeOllama) -> None:
    with pytest.raises(UnsupportedParameterError, match="num_ctx"):
        await ask(fake, num_ctx=4096)  # goes in options={...}
    assert fake.requests == []


# -- what comes back --------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_thinking_text_and_usage(fake: FakeOllama, stream: bool) -> None:
    usage = UsageSpec(prompt_tokens=11, completion_tokens=4)
    fake.script(Reply("The answer is 42.", reasoning="Six times seven.", usage=usage))
    chunks = await ask(fake, think="medium", stream=stream)
    assert fake.requests[0].body["think"] == "medium"
    thinking = "".join(c.token for c in chunks if isinstance(c, Reasoning))
    assert thinking == "Six times seven."
    assert text(chunks) == "The answer is 42."
    assert chunks[-2:] == [
        FinishReason("stop"),
        Usage(prompt_tokens=11, completion_tokens=4, total_tokens=15),
    ]
    if stream:
        assert len([c for c in chunks if isinstance(c, str)]) == 4


@pytest.mark.parametrize("stream", [True, False])
async def test_tool_calls_round_trip(fake: FakeOllama, stream: bool) -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    calls = (ToolCall("get_weather", '{"city": "Paris"}'), ToolCall("get_time", "{}", id="srv1"))
    fake.script(Reply(content=None, tool_calls=calls))
    chunks = await ask(fake, tools=[tool], stream=stream)
    [tool_calls] = [c for c in chunks if isinstance(c, ToolCalls)]
    assert tool_calls.get_list() == [
        {"id": "call_0", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "srv1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
    ]  # fmt: skip
    assert FinishReason("tool_calls") in chunks
    follow_up = [
        *MESSAGES,
        {"role": "assistant", "content": None, "tool_calls": tool_calls.get_list()},
        {"role": "tool", "tool_call_id": "call_0", "content": "Sunny"},
        {"role": "tool", "tool_call_id": "srv1", "content": "noon"},
    ]
    await ask(fake, messages=follow_up, tools=[tool])
    sent = fake.requests[-1].body["messages"]
    assert sent[1]["tool_calls"][0] == {
        "id": "call_0",
        "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
    }
    assert sent[2:] == [
        {"role": "tool", "content": "Sunny", "tool_name": "get_weather", "tool_call_id": "call_0"},
        {"role": "tool", "content": "noon", "tool_name": "get_time", "tool_call_id": "srv1"},
    ]  # fmt: skip


async def test_length_and_json_schema(fake: FakeOllama) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fake.script(Reply('{"n": 4', finish_reason="length"))
    response_format = {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}
    chunks = await ask(fake, response_format=response_format, max_tokens=3)
    assert fake.requests[0].body["format"] == schema
    assert FinishReason("length") in chunks


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (Status(400, body={"error": "invalid options: num_ctx"}), BadRequestError),
        (Status(500), ResponseStatusError),
        (Status(503), ResponseStatusError),
    ],
)
async def test_error_statuses(fake: FakeOllama, status: Status, error: type) -> None:
    fake.script(status)
    with pytest.raises(error) as info:
        await ask(fake, max_retries=0)
    assert info.value.status_code == status.code
    assert info.value.provider == "OllamaNative"


async def test_server_errors_are_retried(fake: FakeOllama) -> None:
    fake.script(Status(503), Reply("recovered"))
    assert text(await ask(fake, max_retries=1)) == "recovered"
    assert len(fake.requests) == 2


async def test_error_mid_stream_after_text(fake: FakeOllama) -> None:
    fake.script(StreamThenError(chunks=2, error={"message": "llama runner process has terminated"}))
    seen: list[Any] = []
    with pytest.raises(ResponseError, match="llama runner process has terminated") as info:
        await drain(fake, seen)
    assert text(seen) == "t0 t1"
    assert info.value.provider == "OllamaNative"


@pytest.mark.parametrize("stream", [True, False])
async def test_cut_answers_are_incomplete(fake: FakeOllama, stream: bool) -> None:
    fake.script(CutStream(chunks=3))
    with pytest.raises(IncompleteResponseError):
        await ask(fake, stream=stream, max_retries=0)


async def test_a_stream_that_ends_cleanly_without_done_is_incomplete(fake: FakeOllama) -> None:
    line = {"model": "llama3.2", "message": {"role": "assistant", "content": "Hel"}, "done": False}
    fake.script(Lines([line, line]))  # a well-closed body, but no object says done: true
    with pytest.raises(IncompleteResponseError, match="done: true"):
        await ask(fake)


async def test_a_line_that_is_not_an_object(fake: FakeOllama) -> None:
    fake.script(Lines(["oops"]))
    with pytest.raises(ResponseError, match="expected a JSON object"):
        await ask(fake)


# -- through the client -----------------------------------------------------------------------


async def test_openai_shaped_client(fake: FakeOllama) -> None:
    fake.script(Reply("Hi!", reasoning="Greeting.", usage=UsageSpec(5, 2)))
    client = AsyncClient(provider=OllamaNative)
    completion = await client.chat.completions.create(
        model="", messages=MESSAGES, api_base=fake.base_url, think=True
    )
    assert completion.choices[0].message.content == "Hi!"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 2)
    assert fake.requests[-1].body["model"] == "llama3.2:latest"


def test_sync_entry_point() -> None:
    with FakeOllama.in_thread() as fake:
        chunks = list(
            OllamaNative.create_completion("", MESSAGES, api_base=fake.base_url, timeout=10)
        )
    assert text(chunks) == "Hello world"
    assert FinishReason("stop") in chunks
