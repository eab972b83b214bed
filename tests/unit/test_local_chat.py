"""The pure parts of LocalLlama: stop matching, message conversion, response formats."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmrelay.errors import InvalidRequestError, UnsupportedParameterError
from llmrelay.Provider.local_chat import StopMatcher, to_llama_messages
from llmrelay.Provider.local_llama import _response_format


def run(stops: list[str], pieces: list[str]) -> tuple[str, bool]:
    matcher = StopMatcher(stops)
    out = []
    for piece in pieces:
        text, hit = matcher.feed(piece)
        out.append(text)
        if hit:
            return "".join(out), True
    return "".join(out) + matcher.flush(), False


@given(st.text(alphabet="abcXY", max_size=30), st.lists(st.integers(0, 30), max_size=6))
def test_stop_matching_holds_for_any_split(text: str, cuts: list[int]) -> None:
    points = sorted({0, len(text), *(c for c in cuts if c <= len(text))})
    pieces = [text[a:b] for a, b in itertools.pairwise(points)]
    out, hit = run(["XY", "cab"], pieces)
    positions = [i for i in (text.find("XY"), text.find("cab")) if i >= 0]
    if positions:
        assert hit
        assert out == text[: min(positions)]
    else:
        assert not hit
        assert out == text


def test_messages_become_plain_text_for_the_template() -> None:
    messages = [
        {"role": "developer", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "1", "content": "42"},
    ]  # fmt: skip
    assert to_llama_messages(messages) == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "ab"},
        {"role": "assistant", "content": '[{"name": "f", "arguments": "{}"}]'},
        {"role": "user", "content": "Tool result: 42"},
    ]
    with pytest.raises(UnsupportedParameterError):
        to_llama_messages([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}])


def test_response_formats_map_to_llama_cpp_grammar_requests() -> None:
    schema = {"type": "object"}
    assert _response_format(None) is None
    assert _response_format({"type": "text"}) is None
    assert _response_format({"type": "json_object"}) == {"type": "json_object"}
    assert _response_format({"type": "json_schema", "json_schema": {"schema": schema}}) == {
        "type": "json_object", "schema": schema}  # fmt: skip
    with pytest.raises(InvalidRequestError):
        _response_format({"type": "json_schema", "json_schema": {}})
