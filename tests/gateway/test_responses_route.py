"""`POST /v1/responses` through the gateway, driven by the official openai SDK: over chat
(the OpenAI-compatible fake, the Anthropic fake) and OpenAI's own endpoint (the fake's
/v1/responses); `previous_response_id` from the gateway's store, per caller; streams that
never end looking complete when they were cut."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from gateway.conftest import GATEWAY_KEY, SECRETS, Stack, cleared, open_stack
from support.fake_openai import CutStream, Reply, Stall
from support.fake_responses import WEATHER, WEATHER_CALL
from support.faults import Cut, sse

pytestmark = pytest.mark.integration

OTHER_KEY = "gw-test-other-key-9876543210"
CALL = WEATHER_CALL
TEXT_EVENTS = [
    "response.created", "response.in_progress", "response.output_item.added",
    "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
    "response.output_text.done", "response.content_part.done", "response.output_item.done",
    "response.completed",
]  # fmt: skip


def client(stack: Stack, key: str = GATEWAY_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.gateway.base_url, api_key=key, max_retries=0)


def post(stack: Stack, body: dict[str, Any], key: str = GATEWAY_KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.post(f"{stack.gateway.base_url}/responses", json=body, headers=headers)


@pytest.fixture(scope="module")
def module_stack() -> Iterator[Stack]:
    keys = (GATEWAY_KEY, OTHER_KEY)
    with open_stack(openai_provider=True, api_keys=keys, responses_store_size=4) as running:
        yield running


@pytest.fixture
def stack(module_stack: Stack) -> Stack:
    return cleared(module_stack)


def no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# -- over chat: the OpenAI-compatible fake ------------------------------------------------------


def test_plain_and_streamed_over_chat(stack: Stack) -> None:
    with client(stack) as sdk:
        plain = sdk.responses.create(model="gpt-4o-mini", input="Hi", instructions="Brief")
        assert plain.output_text == "Hello world"
        assert plain.usage is not None
        assert plain.usage.output_tokens == 2
        sent = stack.openai.requests[-1]
        assert sent.path == "/v1/chat/completions"
        assert sent.body["messages"] == [{"role": "system", "content": "Brief"},
                                         {"role": "user", "content": "Hi"}]  # fmt: skip
        events = list(sdk.responses.create(model="gpt-4o-mini", input="Hi", stream=True))
    assert [e.type for e in events] == TEXT_EVENTS
    assert [e.sequence_number for e in events] == list(range(len(TEXT_EVENTS)))
    final = events[-1]
    assert final.type == "response.completed"
    assert final.response.output_text == "Hello world"


def test_the_stream_is_openai_sse_with_event_lines(stack: Stack) -> None:
    body = {"model": "gpt-4o-mini", "input": "Hi", "stream": True}
    answer = post(stack, body)
    assert answer.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in answer.text.split("\n\n") if b]
    assert blocks[0].startswith("event: response.created\ndata: {")
    for block in blocks:
        event, data = block.split("\n")
        assert json.loads(data.removeprefix("data: "))["type"] == event.removeprefix("event: ")
    assert "[DONE]" not in answer.text


def test_a_function_tool_across_two_turns_with_previous_response_id(stack: Stack) -> None:
    stack.openai.script(Reply(content=None, tool_calls=[CALL]))
    with client(stack) as sdk:
        first = sdk.responses.create(model="gpt-4o-mini", input="Weather?", tools=[WEATHER])
        call = first.output[0]
        assert call.type == "function_call"
        assert (call.call_id, call.name, call.arguments) == ("call_paris", "get_weather",
                                                             CALL.arguments)  # fmt: skip
        output = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
        second = sdk.responses.create(model="gpt-4o-mini", input=[output], tools=[WEATHER],
                                      previous_response_id=first.id)  # fmt: skip
    assert second.output_text == "Hello world"
    assert second.previous_response_id == first.id
    messages = stack.openai.requests[-1].body["messages"]
    assert messages[0] == {"role": "user", "content": "Weather?"}
    assert messages[1]["role"] == "assistant"
    assert messages[1]["tool_calls"][0]["id"] == "call_paris"
    assert messages[1]["tool_calls"][0]["function"]["arguments"] == CALL.arguments
    assert messages[2] == {"role": "tool", "tool_call_id": "call_paris", "content": "sunny"}


def test_a_streamed_turn_is_kept_and_continued(stack: Stack) -> None:
    with client(stack) as sdk:
        events = list(sdk.responses.create(model="gpt-4o-mini", input="Hi", stream=True))
        first = events[-1].response
        second = sdk.responses.create(model="gpt-4o-mini", input="And?",
                                      previous_response_id=first.id)  # fmt: skip
    assert second.previous_response_id == first.id
    assert [m["content"] for m in stack.openai.requests[-1].body["messages"]] == [
        "Hi", "Hello world", "And?"
    ]  # fmt: skip


def test_a_cut_upstream_stream_ends_with_an_error_event(stack: Stack) -> None:
    stack.openai.script(CutStream(chunks=3))
    with client(stack) as sdk:
        events = list(sdk.responses.create(model="gpt-4o-mini", input="Hi", stream=True))
    types = [e.type for e in events]
    assert "response.output_text.delta" in types
    assert types[-2:] == ["error", "response.failed"]
    assert "response.completed" not in types
    assert [e.sequence_number for e in events] == list(range(len(events)))
    no_secrets(json.dumps([e.model_dump() for e in events]))


# -- previous_response_id: per caller, bounded, store: false -------------------------------------


def test_another_callers_response_and_unknown_ids_are_404(stack: Stack) -> None:
    with client(stack) as sdk:
        mine = sdk.responses.create(model="gpt-4o-mini", input="Hi")
    before = len(stack.openai.requests)
    for response_id, key in ((mine.id, OTHER_KEY), ("resp_unknown", GATEWAY_KEY)):
        answer = post(stack, {"model": "gpt-4o-mini", "input": "More",
                             "previous_response_id": response_id}, key)  # fmt: skip
        assert answer.status_code == 404
        error = answer.json()["error"]
        assert (error["param"], error["code"]) == ("previous_response_id",
                                                   "previous_response_not_found")  # fmt: skip
        assert response_id in error["message"]
    assert len(stack.openai.requests) == before  # nothing went upstream
    with client(stack, OTHER_KEY) as other, pytest.raises(openai.NotFoundError):
        other.responses.create(model="gpt-4o-mini", input="x", previous_response_id=mine.id)


def test_the_store_is_bounded_and_store_false_keeps_nothing(stack: Stack) -> None:
    with client(stack) as sdk:
        oldest = sdk.responses.create(model="gpt-4o-mini", input="0")
        kept = [sdk.responses.create(model="gpt-4o-mini", input=str(i)) for i in range(1, 5)]
        unkept = sdk.responses.create(model="gpt-4o-mini", input="x", store=False)
        assert len(stack.gateway.app.responses) == 4  # responses_store_size
        for gone in (oldest, unkept):
            with pytest.raises(openai.NotFoundError):
                sdk.responses.create(model="gpt-4o-mini", input="y",
                                     previous_response_id=gone.id)  # fmt: skip
        sdk.responses.create(model="gpt-4o-mini", input="y", previous_response_id=kept[0].id)


# -- over chat: the Anthropic fake ---------------------------------------------------------------


def test_responses_to_chat_to_anthropic_plain_stream_and_tool_turns(stack: Stack) -> None:
    with client(stack) as sdk:
        plain = sdk.responses.create(model="claude", input="Hi")
        assert plain.output_text == "Hello world"
        events = list(sdk.responses.create(model="claude", input="Hi", stream=True))
        assert events[0].type == "response.created"
        assert events[-1].type == "response.completed"
        assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == (
            "Hello world"
        )
        stack.anthropic.script(Reply(content=None, tool_calls=[CALL]))
        first = sdk.responses.create(model="claude", input="Weather?", tools=[WEATHER])
        assert first.output[0].type == "function_call"
        output = {"type": "function_call_output", "call_id": "call_paris", "output": "sunny"}
        second = sdk.responses.create(model="claude", input=[output], tools=[WEATHER],
                                      previous_response_id=first.id)  # fmt: skip
    assert second.output_text == "Hello world"
    sent = stack.anthropic.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.body["model"] == "claude-sonnet-4-5"
    blocks = [b for m in sent.body["messages"] for b in m["content"] if isinstance(b, dict)]
    use = next(b for b in blocks if b["type"] == "tool_use")
    result = next(b for b in blocks if b["type"] == "tool_result")
    assert use["id"] == result["tool_use_id"] == "call_paris"
    assert use["input"] == {"city": "Paris"}


# -- OpenAI's own endpoint --------------------------------------------------------------------


def test_openai_gets_its_own_endpoint_and_previous_response_id_as_is(stack: Stack) -> None:
    stack.openai.script(Reply(content=None, tool_calls=[CALL]))
    with client(stack) as sdk:
        first = sdk.responses.create(model="gpt-4o-mini", input="Weather?", tools=[WEATHER],
                                     extra_body={"provider": "OpenAI"})  # fmt: skip
        assert stack.openai.requests[-1].path == "/v1/responses"
        output = {"type": "function_call_output", "call_id": "call_paris", "output": "sunny"}
        events = list(sdk.responses.create(
            model="gpt-4o-mini", input=[output], previous_response_id=first.id, stream=True,
            extra_body={"provider": "OpenAI"},
        ))  # fmt: skip
    sent = stack.openai.requests[-1]
    assert sent.path == "/v1/responses"
    assert sent.body["previous_response_id"] == first.id  # OpenAI keeps the conversation
    assert sent.body["input"] == [output]
    assert events[-1].type == "response.completed"
    assert events[-1].response.previous_response_id == first.id
    other = post(stack, {"model": "gpt-4o-mini", "input": "x", "provider": "OpenAI",
                        "previous_response_id": first.id}, OTHER_KEY)  # fmt: skip
    assert other.status_code == 404


def test_a_cut_stream_of_openais_endpoint_ends_with_an_error_event(stack: Stack) -> None:
    created = {"type": "response.created", "sequence_number": 0,
               "response": {"id": "resp_cut", "object": "response", "status": "in_progress",
                            "model": "gpt-4o-mini", "output": []}}  # fmt: skip
    delta = {"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_1",
             "output_index": 0, "content_index": 0, "delta": "Hel"}  # fmt: skip
    stack.openai.script(Cut(sse(created, "response.created") +
                            sse(delta, "response.output_text.delta")))  # fmt: skip
    answer = post(stack, {"model": "gpt-4o-mini", "input": "Hi", "stream": True,
                         "provider": "OpenAI"})  # fmt: skip
    blocks = [b for b in answer.text.split("\n\n") if b]
    assert [b.split("\n")[0] for b in blocks] == [
        "event: response.created", "event: response.output_text.delta", "event: error"
    ]  # fmt: skip
    error = json.loads(blocks[-1].split("\n")[1].removeprefix("data: "))
    assert error["sequence_number"] == 2
    assert "response.completed" not in answer.text
    no_secrets(answer.text)


# -- the caller's mistakes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "Hi"}, "model"),
        ({"model": "gpt-4o-mini"}, "input"),
        ({"model": "gpt-4o-mini", "input": []}, "input"),
        ({"model": "gpt-4o-mini", "input": ["text"]}, "input"),
        ({"model": "gpt-4o-mini", "input": "Hi", "temperature": "hot"}, "temperature"),
        ({"model": "gpt-4o-mini", "input": "Hi", "stream": "yes"}, "stream"),
        ({"model": "gpt-4o-mini", "input": "Hi", "api_base": "http://evil"}, "api_base"),
        ({"model": "gpt-4o-mini", "input": "Hi", "base_url": "http://evil"}, "base_url"),
        ({"model": "gpt-4o-mini", "input": "Hi", "api_key": "sk-mine"}, "api_key"),
        ({"model": "gpt-4o-mini", "input": "Hi", "headers": {"x": "y"}}, "headers"),
        ({"model": "gpt-4o-mini", "input": "Hi", "colour": "red"}, "colour"),
        ({"model": "gpt-4o-mini", "input": [{"role": "wizard", "content": "x"}]}, "input"),
    ],
)
def test_bad_requests_are_400_naming_the_field(
    stack: Stack, body: dict[str, Any], param: str
) -> None:
    answer = post(stack, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param
    assert stack.openai.requests == []


def test_unknown_provider_is_404_and_the_key_is_required(stack: Stack) -> None:
    answer = post(stack, {"model": "m", "input": "Hi", "provider": "NoSuchProvider"})
    assert answer.status_code == 404
    assert answer.json()["error"]["param"] == "provider"
    assert httpx.post(f"{stack.gateway.base_url}/responses", json={}).status_code == 401


def test_a_client_that_disconnects_mid_stream_cancels_the_upstream(stack: Stack) -> None:
    stack.openai.script(Stall("body", chunks=2))
    before = stack.openai.disconnects.value
    data = json.dumps({"model": "gpt-4o-mini", "input": "Hi", "stream": True}).encode()
    host, port = stack.gateway.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + GATEWAY_KEY.encode() + b"\r\nContent-Length: "
                 + str(len(data)).encode() + b"\r\n\r\n" + data)  # fmt: skip
    received = b""
    while b"response.output_text.delta" not in received:
        received += sock.recv(65536)
    sock.close()
    stack.openai.disconnects.wait(before + 1, timeout=1.0)  # the upstream saw it go
    deadline = time.monotonic() + 1.0
    while stack.gateway.app.limit.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stack.gateway.app.limit.in_flight == 0
