"""Property-based API tests from the gateway's own /openapi.json (schemathesis): whatever
the generated request, no 5xx, and every answer matches the schema — status, content type
and body. Kept small (a few examples per operation) so the suite stays fast."""

from __future__ import annotations

from collections.abc import Iterator
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

from gateway.conftest import GATEWAY_KEY, OPENAI_KEY, Stack
from llmrelay.Provider.pollinations import PollinationsImage
from llmrelay.server.config import GatewayConfig
from llmrelay.server.openapi import openapi_spec
from support.fake_images import FakeImages
from support.gateway import RunningGateway, serve_gateway

pytestmark = pytest.mark.integration

schema = schemathesis.openapi.from_dict(openapi_spec())
IMAGES = "^/v1/images/"  # served by an image provider: tested against its fake below
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip


@schema.exclude(path_regex=IMAGES).parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_answers_match_the_schema(case: Any, stack: Stack) -> None:
    case.call_and_validate(base_url=stack.url, headers={"x-api-key": GATEWAY_KEY},
                           checks=CHECKS)  # fmt: skip


@pytest.fixture(scope="module")
def images_gateway() -> Iterator[RunningGateway]:
    with (
        pytest.MonkeyPatch.context() as env,
        FakeImages.in_thread(api_key=OPENAI_KEY) as fake,
    ):
        env.setenv("OPENAI_API_KEY", OPENAI_KEY)
        env.setenv("OPENAI_BASE_URL", fake.base_url)
        env.setattr(PollinationsImage, "api_base", fake.root)  # the keyless default, faked
        with serve_gateway(GatewayConfig(api_keys=(GATEWAY_KEY,))) as running:
            yield running


@schema.include(path_regex=IMAGES).parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_image_answers_match_the_schema(case: Any, images_gateway: RunningGateway) -> None:
    case.call_and_validate(base_url=images_gateway.url, headers={"x-api-key": GATEWAY_KEY},
                           checks=CHECKS)  # fmt: skip


def test_the_served_document_is_the_schema(stack: Stack) -> None:
    served = httpx.get(f"{stack.url}/openapi.json", headers={"x-api-key": GATEWAY_KEY}).json()
    assert served == openapi_spec()
    assert set(served["paths"]) == {
        "/v1/chat/completions", "/v1/messages", "/v1/images/generations", "/v1/images/edits",
        "/v1/embeddings", "/v1/responses", "/v1/models", "/v1/models/{model}",
        "/v1/providers", "/health", "/metrics", "/openapi.json",
    }  # fmt: skip
