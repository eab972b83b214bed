"""Message validation: what is accepted, and errors that say what is wrong and where."""

from __future__ import annotations

from typing import Any

import pytest

from llmrelay.errors import InvalidMessagesError
from llmrelay.providers.messages import validate_messages

VALID: list[list[dict[str, Any]]] = [
    [{"role": "user", "content": "hi"}],
    [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi", "name": "ann"}],
    [{"role": "developer", "content": "rules"}, {"role": "user", "content": "hi"}],
    [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        }
    ],
    [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ],
    [{"role": "assistant", "tool_calls": []}],
    [{"role": "user", "content": "x", "content_type": "text", "tool_code": "print(1)"}],
    [{"role": "assistant", "content": "", "function_call": {"name": "f", "arguments": "{}"}}],
]


@pytest.mark.parametrize("messages", VALID)
def test_valid_messages_pass(messages: list[dict[str, Any]]) -> None:
    validate_messages(messages)


INVALID: list[tuple[Any, str]] = [
    (None, "must be a list of message objects, not NoneType"),
    ({"role": "user"}, "must be a list"),
    ([], "must not be empty"),
    (["hi"], "messages[0]: a message must be an object, not str"),
    ([{"content": "x"}], "messages[0]: missing 'role'"),
    ([{"role": "robot", "content": "x"}], "messages[0]: unknown role 'robot'"),
    ([{"role": "user"}], "messages[0]: missing 'content'"),
    ([{"role": "user", "content": None}], "may be null only for assistant"),
    ([{"role": "user", "content": 5}], "'content' must be a string or a list of parts, not int"),
    ([{"role": "user", "content": "x", "colour": "red"}], "unknown key(s) ['colour']"),
    ([{"role": "user", "content": "x", "name": 7}], "'name' must be a string"),
    ([{"role": "user", "content": [{"type": "video"}]}], "messages[0].content[0]: unknown content"),
    ([{"role": "user", "content": [{"type": "text"}]}], "a 'text' part needs a string 'text'"),
    ([{"role": "user", "content": ["x"]}], "a content part must be an object"),
    (
        [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
        "'image_url' part needs",
    ),
    ([{"role": "tool", "content": "x"}], "needs the 'tool_call_id'"),
    ([{"role": "user", "content": "x", "tool_calls": []}], "only assistant messages"),
    (
        [{"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]}],
        "messages[0].tool_calls[0]: a tool call needs 'function'",
    ),
    (
        [{"role": "user", "content": "ok"}, {"role": "assistant"}],
        "messages[1]: missing 'content'",
    ),
]


@pytest.mark.parametrize(("messages", "fragment"), INVALID)
def test_invalid_messages_name_the_problem(messages: Any, fragment: str) -> None:
    with pytest.raises(InvalidMessagesError) as info:
        validate_messages(messages)
    assert fragment in str(info.value)
