"""The pure Responses <-> chat translation the client and the gateway share."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.responses import Response as SDKResponse
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from llmrelay.errors import InvalidRequestError, UnsupportedParameterError
from llmrelay.protocols.openai.responses_chat import (
    ResponseBuilder,
    input_to_messages,
    tool_choice_to_chat,
    tools_to_chat,
)
from llmrelay.providers.embeddings import normalize_input

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def test_items_become_chat_messages() -> None:
    items = [
        {"role": "developer", "content": "Be brief"},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "What is "},
            {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"}]},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Let me see."}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "g", "arguments": '{"a": 1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "one"},
        {"type": "function_call_output", "call_id": "c2", "output": "two"},
    ]  # fmt: skip
    assert input_to_messages(items, "Sys") == [
        {"role": "system", "content": "Sys"},
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": [
            {"type": "text", "text": "What is "},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA",
                                                "detail": "low"}}]},
        {"role": "assistant", "content": "Let me see.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "c2", "type": "function", "function": {"name": "g", "arguments": '{"a": 1}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "one"},
        {"role": "tool", "tool_call_id": "c2", "content": "two"},
    ]  # fmt: skip


def test_a_call_without_a_preceding_assistant_message_gets_empty_content() -> None:
    call = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
    items = [{"role": "user", "content": "Hi"}, call]
    assert input_to_messages(items)[1]["content"] == ""


@pytest.mark.parametrize(
    "items",
    [[{"type": "file_search_call", "id": "x"}],
     [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]],
)  # fmt: skip
def test_unsupported_items_are_refused_by_type(items: list[Any]) -> None:
    with pytest.raises(UnsupportedParameterError, match="not supported"):
        input_to_messages(items)


def test_bad_input_is_refused() -> None:
    with pytest.raises(InvalidRequestError):
        input_to_messages([])
    with pytest.raises(InvalidRequestError, match="role"):
        input_to_messages([{"role": "robot", "content": "x"}])


def test_tools_and_tool_choice() -> None:
    tool = {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}
    assert tools_to_chat([tool]) == [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object"}, "strict": True}}]  # fmt: skip
    with pytest.raises(UnsupportedParameterError, match="web_search"):
        tools_to_chat([{"type": "web_search"}])
    assert tool_choice_to_chat({"type": "function", "name": "f"}) == {
        "type": "function", "function": {"name": "f"}}  # fmt: skip
    assert tool_choice_to_chat("required") == "required"


def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": usage}


def test_builder_text_then_tool_call_stream() -> None:
    builder = ResponseBuilder("m", {"instructions": "Sys", "tools": []})
    events = builder.start()
    events += builder.feed(chunk({"role": "assistant", "content": "Hel"}))
    events += builder.feed(chunk({"content": "lo"}))
    first = {"index": 0, "id": "call_1", "type": "function",
             "function": {"name": "f", "arguments": '{"a"'}}  # fmt: skip
    events += builder.feed(chunk({"tool_calls": [first]}))
    events += builder.feed(chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}))
    usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    events += builder.feed(chunk({}, "tool_calls", usage))
    events += builder.finish()
    for event in events:
        EVENTS.validate_python(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    response = SDKResponse.model_validate(builder.response)
    assert response.output_text == "Hello"
    call = response.output[1]
    assert call.type == "function_call"
    assert (call.call_id, call.arguments) == ("call_1", '{"a": 1}')
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (3, 4)
    kinds = [e["type"] for e in events]
    assert kinds.index("response.output_item.done") < kinds.index(
        "response.function_call_arguments.delta"
    )  # the message closes before the call opens
    assert kinds[-1] == "response.completed"


def test_length_finish_is_incomplete() -> None:
    builder = ResponseBuilder("m")
    builder.feed(chunk({"content": "x"}, "length"))
    events = builder.finish()
    assert events[-1]["type"] == "response.incomplete"
    assert builder.response["incomplete_details"] == {"reason": "max_output_tokens"}
    EVENTS.validate_python(events[-1])


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a", ["a"]), (["a", "b"], ["a", "b"]), ([1, 2], [[1, 2]]), ([[1], [2, 3]], [[1], [2, 3]])],
)
def test_embedding_input_forms(value: Any, expected: Any) -> None:
    assert normalize_input(value) == expected


@pytest.mark.parametrize("value", [[], [True], ["a", 1], [[]], 3, None])
def test_bad_embedding_input(value: Any) -> None:
    with pytest.raises(InvalidRequestError, match="input"):
        normalize_input(value)


async def test_batches_run_a_few_at_once_and_keep_their_order() -> None:
    import asyncio

    from llmrelay.providers.embeddings import CONCURRENCY, Batch, in_batches

    running, peak = 0, 0

    async def send(part: list[int]) -> Batch:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (10 - part[0] % 10))  # later batches finish first
        running -= 1
        return Batch([[float(i)] for i in part], len(part))

    vectors, tokens = await in_batches(list(range(95)), 7, send)
    assert vectors == [[float(i)] for i in range(95)]
    assert tokens == 95
    assert peak == CONCURRENCY
