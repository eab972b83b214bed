"""Property-based API tests from the gateway's own /openapi.json (schemathesis): whatever
the generated request, no 5xx, and every answer matches the schema — status, content type
and body. Kept small (a few examples per operation) so the suite stays fast."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.conftest import GATEWAY_KEY, Stack
from llmrelay.server.openapi import openapi_spec

pytestmark = pytest.mark.integration

schema = schemathesis.openapi.from_dict(openapi_spec())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_answers_match_the_schema(case: Any, stack: Stack) -> None:
    case.call_and_validate(base_url=stack.url, headers={"x-api-key": GATEWAY_KEY},
                           checks=CHECKS)  # fmt: skip


def test_the_served_document_is_the_schema(stack: Stack) -> None:
    served = httpx.get(f"{stack.url}/openapi.json", headers={"x-api-key": GATEWAY_KEY}).json()
    assert served == openapi_spec()
    assert set(served["paths"]) == {
        "/v1/chat/completions", "/v1/messages", "/v1/models", "/v1/models/{model}",
        "/v1/providers", "/health", "/metrics", "/openapi.json",
    }  # fmt: skip
