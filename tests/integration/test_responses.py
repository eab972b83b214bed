"""`client.responses.create`: OpenAI's own `/v1/responses` (against the fake, itself checked by
the `openai` SDK) and the translation over chat (OpenAI-compatible fake, Anthropic fake, the
real llama.cpp server), with events checked against the SDK's own types."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from openai.types.responses import Response as SDKResponse
from openai.types.responses import ResponseStreamEvent
from pydantic import BaseModel, TypeAdapter

from llmrelay.client import AsyncClient, Client
from llmrelay.client.responses import Response, response_events
from llmrelay.errors import UnsupportedParameterError
from llmrelay.Provider.anthropic import Anthropic
from llmrelay.Provider.openai_compatible import OpenaiTemplate
from support.fake_anthropic import FakeAnthropic
from support.fake_openai import FakeOpenAI, Reply, StreamThenError
from support.fake_responses import WEATHER, WEATHER_CALL

pytestmark = pytest.mark.integration

KEY = "sk-test"
CALL = WEATHER_CALL
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def no_extras(model: Any) -> None:
    """Every field is one the SDK knows (its models keep unknown ones in model_extra)."""
    if isinstance(model, BaseModel):
        assert not model.model_extra, model.model_extra
        for name in type(model).model_fields:
            no_extras(getattr(model, name))
    elif isinstance(model, list):
        for item in model:
            no_extras(item)


def check_event(event: dict[str, Any]) -> Any:
    parsed = EVENTS.validate_python(event)
    no_extras(parsed)
    return parsed


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key=KEY) as server:
        yield server


# -- the fake's /v1/responses, as the official SDK sees it ------------------------------------


async def test_sdk_plain_stream_and_tool_turns(fake: FakeOpenAI) -> None:
    sdk = openai.AsyncOpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0)
    async with sdk:
        plain = await sdk.responses.create(model="gpt-test", input="Hi", instructions="Brief")
        assert plain.output_text == "Hello world"
        no_extras(plain)
        no_extras(SDKResponse.model_validate(plain.model_dump()))  # strictly
        stream = await sdk.responses.create(model="gpt-test", input="Hi", stream=True)
        events = [event async for event in stream]
        for event in events:
            check_event(event.model_dump())
        types = [event.type for event in events]
        assert types[:3] == ["response.created", "response.in_progress",
                             "response.output_item.added"]  # fmt: skip
        assert types.count("response.output_text.delta") == 2
        assert types[-1] == "response.completed"
        fake.script(Reply(content=None, tool_calls=[CALL]))
        first = await sdk.responses.create(model="gpt-test", input="Weather?", tools=[WEATHER])
        call = first.output[0]
        assert call.type == "function_call"
        assert (call.call_id, call.name) == ("call_paris", "get_weather")
        output = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
        second = await sdk.responses.create(model="gpt-test", input=[output],
                                            previous_response_id=first.id)  # fmt: skip
        assert second.previous_response_id == first.id
        with pytest.raises(openai.BadRequestError, match="No tool call found"):
            await sdk.responses.create(model="gpt-test", input=[{**output, "call_id": "x"}])


# -- OpenAI's own endpoint through llmrelay ----------------------------------------------------


async def test_openai_native_plain_stream_and_previous_response(fake: FakeOpenAI) -> None:
    client = AsyncClient(provider="OpenAI", api_key=KEY, base_url=fake.base_url, max_retries=0)
    plain = await client.responses.create(model="gpt-test", input="Hi", temperature=0.5)
    assert isinstance(plain, Response)
    assert plain.output_text == "Hello world"
    assert plain.usage.input_tokens == 10
    assert fake.requests[-1].path == "/v1/responses"
    assert fake.requests[-1].body == {"model": "gpt-test", "input": "Hi", "temperature": 0.5}
    fake.script(Reply(content=None, tool_calls=[CALL]))
    stream = await client.responses.create(model="gpt-test", input="Weather?", tools=[WEATHER],
                                           stream=True)  # fmt: skip
    events = [event async for event in stream]  # type: ignore[union-attr]
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert deltas == CALL.arguments
    first = events[-1].response
    assert events[-1].type == "response.completed"
    output = {"type": "function_call_output", "call_id": "call_paris", "output": "sunny"}
    second = await client.responses.create(model="gpt-test", input=[output],
                                           previous_response_id=first.id)  # fmt: skip
    assert second.output_text == "Hello world"
    assert fake.requests[-1].body["previous_response_id"] == first.id


def test_sync_client_native_stream_error_event() -> None:
    with FakeOpenAI.in_thread(api_key=KEY) as server:
        server.script(StreamThenError(chunks=5))
        client = Client(provider="OpenAI", api_key=KEY, base_url=server.base_url)
        events = list(client.responses.create(model="gpt-test", input="Hi", stream=True))
    assert events[-1].type == "error"
    assert [e.sequence_number for e in events] == list(range(6))


# -- translated over chat ----------------------------------------------------------------------


async def test_translated_plain_and_stream_events_are_openai_shaped(fake: FakeOpenAI) -> None:
    client = AsyncClient(api_key=KEY, base_url=fake.base_url, max_retries=0)  # chat only
    plain = await client.responses.create(model="gpt-test", input="Hi", instructions="Brief",
                                          max_output_tokens=50)  # fmt: skip
    assert plain.output_text == "Hello world"
    no_extras(SDKResponse.model_validate(plain.model_dump()))
    sent = fake.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["messages"] == [{"role": "system", "content": "Brief"},
                                     {"role": "user", "content": "Hi"}]  # fmt: skip
    assert sent.body["max_tokens"] == 50
    assert plain.usage.output_tokens == 2
    stream = await client.responses.create(model="gpt-test", input="Hi", stream=True)
    events = [event.model_dump() async for event in stream]  # type: ignore[union-attr]
    for event in events:
        check_event(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert [e["type"] for e in events] == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added", "response.output_text.delta",
        "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed",
    ]  # fmt: skip
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Hello world"


async def test_translated_stream_failure_ends_in_an_error_event(fake: FakeOpenAI) -> None:
    fake.script(StreamThenError(chunks=3))
    events = [e async for e in response_events(OpenaiTemplate, "gpt-test", "Hi", stream=True,
                                               api_key=KEY, api_base=fake.base_url)]  # fmt: skip
    for event in events:
        check_event(event)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]


async def test_previous_response_id_is_refused_over_chat(fake: FakeOpenAI) -> None:
    client = AsyncClient(api_key=KEY, base_url=fake.base_url)
    with pytest.raises(UnsupportedParameterError, match="previous_response_id"):
        await client.responses.create(model="m", input="Hi", previous_response_id="resp_1")
    assert fake.requests == []


async def test_function_tool_across_two_turns_over_anthropic() -> None:
    key = "sk-ant-test"
    async with FakeAnthropic(api_key=key) as server:
        client = AsyncClient(provider=Anthropic, api_key=key, base_url=server.base_url)
        server.script(Reply(content=None, tool_calls=[CALL]))
        first = await client.responses.create(model="claude-sonnet-4-5", input="Weather?",
                                              tools=[WEATHER], tool_choice="auto")  # fmt: skip
        no_extras(SDKResponse.model_validate(first.model_dump()))
        call = first.output[0]
        assert (call.type, call.name, json.loads(call.arguments)) == (
            "function_call", "get_weather", {"city": "Paris"})  # fmt: skip
        history = [{"role": "user", "content": "Weather?"}, call.model_dump(),
                   {"type": "function_call_output", "call_id": call.call_id,
                    "output": "sunny"}]  # fmt: skip
        second = await client.responses.create(model="claude-sonnet-4-5", input=history,
                                               tools=[WEATHER])  # fmt: skip
        sent = server.requests[-1].body
    assert second.output_text == "Hello world"
    assert sent["tools"][0]["name"] == "get_weather"
    blocks = [b for m in sent["messages"] for b in m["content"] if isinstance(b, dict)]
    use = next(b for b in blocks if b["type"] == "tool_use")
    result = next(b for b in blocks if b["type"] == "tool_result")
    assert use["id"] == result["tool_use_id"] == "call_paris"
    assert use["input"] == {"city": "Paris"}


def test_llama_server_plain_stream_and_tool_output(llama_server_url: str) -> None:
    client = Client(base_url=llama_server_url)
    plain = client.responses.create(model="tiny-llama", input="Hi", max_output_tokens=4,
                                    temperature=0)  # fmt: skip
    assert isinstance(plain, Response)
    assert plain.status in ("completed", "incomplete")
    assert plain.usage.output_tokens > 0
    events = list(client.responses.create(model="tiny-llama", input="Hi", stream=True,
                                          max_output_tokens=4, temperature=0))  # fmt: skip
    for event in events:
        check_event(event.model_dump())
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == plain.output_text
    call = {"type": "function_call", "call_id": "call_1", "name": "get_weather",
            "arguments": '{"city": "Paris"}'}  # fmt: skip
    output = {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}
    history = [{"role": "user", "content": "Weather?"}, call, output]
    second = client.responses.create(model="tiny-llama", input=history, tools=[WEATHER],
                                     max_output_tokens=4)  # fmt: skip
    assert isinstance(second, Response)
    assert second.usage.input_tokens > 0


async def test_fields_and_unknown_parameters_on_the_native_endpoint(fake: FakeOpenAI) -> None:
    client = AsyncClient(provider="OpenAI", api_key=KEY, base_url=fake.base_url, max_retries=0)
    await client.responses.create(model="gpt-test", input="Hi", store=False, metadata={"a": "b"})
    assert fake.requests[-1].body == {"model": "gpt-test", "input": "Hi", "store": False,
                                      "metadata": {"a": "b"}}  # fmt: skip
    with pytest.raises(UnsupportedParameterError, match="'seed'"):
        await client.responses.create(model="gpt-test", input="Hi", seed=1)
    with pytest.raises(UnsupportedParameterError, match="'reasoning'"):
        await AsyncClient(provider=Anthropic, api_key="k").responses.create(
            model="claude-sonnet-4-5", input="Hi", reasoning={"effort": "low"}
        )
