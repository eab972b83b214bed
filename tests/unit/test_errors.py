"""The error tree, the status table, Retry-After parsing and secret redaction."""

from __future__ import annotations

import builtins
import email.utils

import pytest

from llmrelay import errors
from llmrelay.errors import error_for_status, error_from_body, parse_retry_after, redact


def test_every_error_descends_from_the_root() -> None:
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type):
            assert issubclass(value, errors.LLMRelayError), name


def test_errors_are_also_the_builtin_kinds_users_catch() -> None:
    assert issubclass(errors.TotalTimeoutError, builtins.TimeoutError)
    assert issubclass(errors.InvalidMessagesError, ValueError)
    assert issubclass(errors.APIConnectionError, ConnectionError)
    assert issubclass(errors.MissingRequirementsError, ImportError)
    assert issubclass(errors.ProviderNotFoundError, AttributeError)


def test_error_carries_what_is_known() -> None:
    error = error_for_status(429, "slow down", provider="Groq", retry_after=2.5, body={"a": 1})
    assert isinstance(error, errors.RateLimitError)
    assert (error.status_code, error.provider, error.retry_after, error.body) == (
        429,
        "Groq",
        2.5,
        {"a": 1},
    )
    assert str(error) == "Groq: [429] slow down"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, errors.BadRequestError),
        (401, errors.MissingAuthError),
        (402, errors.PaymentRequiredError),
        (403, errors.MissingAuthError),
        (404, errors.ResponseStatusError),
        (408, errors.ResponseStatusError),
        (409, errors.ResponseStatusError),
        (422, errors.BadRequestError),
        (429, errors.RateLimitError),
        (500, errors.ResponseStatusError),
        (503, errors.ResponseStatusError),
    ],
)
def test_status_table(status: int, kind: type) -> None:
    assert type(error_for_status(status)) is kind


def test_a_5xx_stays_a_server_error_whatever_its_type_says() -> None:
    error = error_from_body({"error": {"message": "x", "type": "invalid_request_error"}}, 500)
    assert type(error) is errors.ResponseStatusError


def test_body_without_status_in_a_200_stream() -> None:
    error = error_from_body({"error": {"message": "context too long"}})
    assert type(error) is errors.ResponseError
    assert error.message == "context too long"


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
        ({"Retry-After": email.utils.formatdate(NOW + 10, usegmt=True)}, 10.0),
        ({"Retry-After": email.utils.formatdate(NOW - 10, usegmt=True)}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "-5"}, None),
        ({"Retry-After": "1e300"}, None),
        ({"Retry-After": "3600"}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": ""}, None),
        ({"retry-after-ms": "garbage"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


@pytest.mark.parametrize(
    "secret_text",
    [
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz",
        "https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSyA-1234567890abcdefghijklmnop",
        "x-api-key: sk-ant-api03-abcdefghijklmnop",
        "key sk-proj-0123456789abcdefghij was refused",
        "token gsk_0123456789abcdefghij",
        '{"api-key": "azurekey0123456789"}',
    ],
)
def test_redact_masks_key_shapes(secret_text: str) -> None:
    masked = redact(secret_text)
    assert "[REDACTED]" in masked
    for fragment in ("abcdefghijklmnop", "0123456789abcdefghij", "azurekey0123456789"):
        assert fragment not in masked


def test_redact_masks_named_secrets_and_keeps_the_rest() -> None:
    assert redact("the key plainsecret42 failed", ["plainsecret42"]) == "the key [REDACTED] failed"
    assert redact("nothing secret here") == "nothing secret here"


def test_errors_redact_their_message_and_body() -> None:
    error = errors.MissingAuthError(
        "bad key sk-abcdefghijklmnop", body={"echo": ["sk-abcdefghijklmnop"]}
    )
    assert "abcdefghijklmnop" not in str(error)
    assert "abcdefghijklmnop" not in repr(error)
    assert "abcdefghijklmnop" not in str(error.body)


def test_retry_provider_error_lists_every_failure() -> None:
    error = errors.RetryProviderError(
        exceptions={"A": errors.RateLimitError("slow"), "B": ValueError("bad")}
    )
    assert "A: RateLimitError: slow" in str(error)
    assert "B: ValueError: bad" in str(error)
