"""Property tests (Hypothesis): whatever the caller or the upstream sends, message
validation, parameter mapping, the error table and the stream parsers either work or raise an
llmrelay error, never a stray KeyError/TypeError/AttributeError."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmrelay.errors import (
    MAX_RETRY_AFTER,
    InvalidMessagesError,
    InvalidRequestError,
    LLMRelayError,
    error_from_body,
    parse_retry_after,
    redact,
)
from llmrelay.protocols.anthropic import upstream_request as anthropic_wire
from llmrelay.protocols.anthropic import upstream_response as anthropic_stream
from llmrelay.protocols.gemini import upstream_request as gemini_wire
from llmrelay.protocols.gemini import upstream_response as gemini_stream
from llmrelay.protocols.ollama import upstream as ollama_wire
from llmrelay.protocols.openai import upstream as openai_wire
from llmrelay.providers.messages import validate_messages

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = st.sampled_from(
    [
        "role", "content", "name", "tool_calls", "tool_call_id", "function", "arguments", "id",
        "type", "text", "image_url", "url", "refusal", "reasoning_content", "input_audio",
        "data", "format", "file", "file_data", "error", "message", "code", "status", "choices",
        "delta", "finish_reason", "usage", "index", "candidates", "parts", "done", "thinking",
        "content_block", "stop_reason", "usageMetadata", "object", "detail", "details",
    ]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["user", "assistant", "system", "tool", "text", "image_url", "function",
                       "data:image/png;base64,AAAA", "{}", "{\"a\": 1}", "stop", "error"])
    | st.text(max_size=6)
)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(KEYS | st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)
ROLE = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function"])
PART = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, st.text(max_size=5)),
    st.just({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}),
    st.just({"type": "image_url", "image_url": "https://example.com/a.png"}),
    st.just({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}),
    st.just({"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}}),
    st.just({"type": "refusal", "refusal": "no"}),
    st.dictionaries(KEYS, JSON, max_size=3),
)
ARGUMENTS = st.sampled_from(["{}", "[]", "x", '{"a":1}'])
TOOL_CALL = st.fixed_dictionaries(
    {"id": st.text(max_size=3), "type": st.just("function"),
     "function": st.fixed_dictionaries({"name": st.text(max_size=3), "arguments": ARGUMENTS})}
)  # fmt: skip
MESSAGE = st.fixed_dictionaries(
    {"role": ROLE, "content": st.none() | st.text(max_size=8) | st.lists(PART, max_size=3)},
    optional={
        "name": st.text(max_size=3),
        "tool_call_id": st.text(max_size=3),
        "tool_calls": st.lists(TOOL_CALL, max_size=2),
    },
)
MESSAGES = st.lists(MESSAGE, min_size=1, max_size=4)


def _valid(messages: Any) -> bool:
    try:
        validate_messages(messages)
    except InvalidMessagesError:
        return False
    return True


@SETTINGS
@given(st.lists(JSON, max_size=3) | JSON)
def test_validation_raises_only_invalid_messages_error(messages: Any) -> None:
    _valid(messages)


@SETTINGS
@given(MESSAGES)
def test_validation_of_well_shaped_messages(messages: Any) -> None:
    _valid(messages)


def _builds(build: Any, messages: Any) -> None:
    with contextlib.suppress(InvalidRequestError):
        build(messages)


@SETTINGS
@given(MESSAGES, st.sampled_from(["openai", "anthropic", "gemini", "ollama"]))
def test_valid_messages_map_to_every_wire_or_are_refused_clearly(
    messages: list[dict[str, Any]], wire: str
) -> None:
    if not _valid(messages):
        return
    builders = {
        "openai": lambda m: openai_wire.build_payload("m", m, stream=True, media=[]),
        "anthropic": lambda m: anthropic_wire.build_payload("m", m, stream=True, media=[]),
        "gemini": lambda m: gemini_wire.build_payload("m", m),
        "ollama": lambda m: ollama_wire.build_payload("m", m, stream=True, media=[]),
    }
    _builds(builders[wire], messages)


@SETTINGS
@given(
    st.sampled_from(["openai", "anthropic", "gemini", "ollama"]),
    st.dictionaries(
        st.sampled_from(["response_format", "tools", "tool_choice", "stop", "max_tokens"]),
        JSON,
        max_size=3,
    ),
)
def test_parameters_map_or_are_refused_clearly(wire: str, params: dict[str, Any]) -> None:
    messages = [{"role": "user", "content": "hi"}]
    builders = {
        "openai": lambda: openai_wire.build_payload("m", messages, stream=True, media=[], **params),
        "anthropic": lambda: anthropic_wire.build_payload(
            "m", messages, stream=True, media=[], **params
        ),
        "gemini": lambda: gemini_wire.build_payload("m", messages, **params),
        "ollama": lambda: ollama_wire.build_payload("m", messages, stream=True, media=[], **params),
    }
    with contextlib.suppress(InvalidRequestError):
        builders[wire]()


@SETTINGS
@given(JSON, st.none() | st.integers(100, 599))
def test_any_error_body_gives_an_llmrelay_error(body: Any, status: int | None) -> None:
    error = error_from_body(body, status, secrets=("s3cr3t-key",))
    assert isinstance(error, LLMRelayError)
    assert "s3cr3t-key" not in str(error)
    assert "s3cr3t-key" not in repr(error.body)


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(["Retry-After", "retry-after-ms", "x"]), st.text(max_size=40))
)
def test_retry_after_is_none_or_a_bounded_wait(headers: dict[str, str]) -> None:
    wait = parse_retry_after(headers)
    assert wait is None or 0 <= wait <= MAX_RETRY_AFTER


@SETTINGS
@given(
    st.text(max_size=60),
    # (a "secret" that is part of the mask itself, such as "[RED", shows nothing when it stays)
    st.text(min_size=4, max_size=12).filter(lambda s: s.strip() and s not in "[REDACTED]"),
)
def test_redaction_removes_the_secret_and_is_idempotent(text: str, secret: str) -> None:
    masked = redact(text + secret + text, [secret])
    assert secret not in masked
    assert redact(masked, [secret]) == masked


PARSERS = {
    "openai": lambda: openai_wire.StreamParser(),
    "anthropic": lambda: anthropic_stream.StreamParser(),
    "gemini": lambda: gemini_stream.ResponseParser("G"),
    "ollama": lambda: ollama_wire.StreamParser(),
}


@SETTINGS
@given(
    st.sampled_from(sorted(PARSERS)),
    st.lists(st.dictionaries(KEYS, JSON, max_size=5), min_size=1, max_size=4),
)
def test_stream_parsers_take_any_event_or_raise_an_llmrelay_error(
    family: str, events: list[dict[str, Any]]
) -> None:
    parser = PARSERS[family]()
    try:
        for event in events:
            parser.feed(event)
    except LLMRelayError:
        pass


# -- crashes Hypothesis found, kept as regression tests -----------------------------------------


def test_unhashable_part_type_or_role_is_an_invalid_messages_error() -> None:
    import pytest

    for messages in (
        [{"role": "system", "content": [{"type": []}]}],
        [{"role": ["user"], "content": "hi"}],
        [{"role": {}, "content": "hi"}],
    ):
        with pytest.raises(InvalidMessagesError):
            validate_messages(messages)


def test_stop_that_is_not_text_is_refused_by_every_wire() -> None:
    import pytest

    messages = [{"role": "user", "content": "hi"}]
    for stop in (True, 3, [1], {"a": "b"}):
        with pytest.raises(InvalidRequestError, match="stop must be"):
            anthropic_wire.build_payload("m", messages, stream=True, media=[], stop=stop)
        with pytest.raises(InvalidRequestError, match="stop must be"):
            gemini_wire.build_payload("m", messages, stop=stop)
        with pytest.raises(InvalidRequestError, match="stop must be"):
            ollama_wire.build_payload("m", messages, stream=True, media=[], stop=stop)
        with pytest.raises(InvalidRequestError, match="stop must be"):
            openai_wire.build_payload("m", messages, stream=True, media=[], stop=stop)


def test_gemini_events_of_the_wrong_shape_are_response_errors() -> None:
    import pytest

    from llmrelay.errors import ResponseError

    for event in ({"candidates": {"a": 1}}, {"candidates": [None]}, {"promptFeedback": "x"}):
        with pytest.raises(ResponseError, match="unexpected shape"):
            gemini_stream.ResponseParser("G").feed(event)


def test_openai_and_anthropic_events_of_the_wrong_shape_are_response_errors() -> None:
    import pytest

    from llmrelay.errors import ResponseError

    with pytest.raises(ResponseError, match="unexpected shape"):
        openai_wire.StreamParser().feed({"choices": [1]})
    with pytest.raises(ResponseError, match="unexpected shape"):
        openai_wire.parse_completion({"choices": ["x"]})
    with pytest.raises(ResponseError, match="unexpected shape"):
        anthropic_stream.StreamParser().feed({"type": "content_block_delta", "delta": 3})
