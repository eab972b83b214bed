"""Errors into gateway answers: a key missing on the gateway is the operator's problem."""

from __future__ import annotations

from llmrelay.errors import MissingAuthError, RateLimitError, UnsupportedParameterError
from llmrelay.server.failures import failure_for


def test_no_provider_key_on_the_gateway_is_503_not_the_callers_401() -> None:
    local = MissingAuthError("no configured provider for model 'gpt-4o': set OPENAI_API_KEY")
    assert local.status_code == 401  # what a library caller is told
    assert failure_for(local).status == 503
    assert failure_for(MissingAuthError("invalid key", status_code=401)).status == 401


def test_the_callers_mistakes_and_rate_limits_keep_their_status() -> None:
    assert failure_for(UnsupportedParameterError("temprature")).status == 400
    limited = failure_for(RateLimitError("slow", status_code=429, retry_after=3))
    assert (limited.status, limited.retry_after) == (429, 3)
