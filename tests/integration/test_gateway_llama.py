"""The gateway in front of a real llama.cpp server (llama-cpp-python) on loopback: the
official `openai` and `anthropic` SDKs get the model's answers, streams and errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from llmrelay.server.config import GatewayConfig, Upstream
from support.gateway import RunningGateway, serve_gateway

pytestmark = pytest.mark.integration

KEY = "gw-llama-key"
MESSAGES: list[Any] = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module")
def gateway(llama_server_url: str) -> Iterator[RunningGateway]:
    config = GatewayConfig(
        api_keys=(KEY,),
        upstreams=(Upstream("llama", llama_server_url, models=("tiny-llama",)),),
        models={"local": ("llama/tiny-llama",)},
    )
    with serve_gateway(config) as running:
        yield running


def test_openai_sdk_create_and_stream(gateway: RunningGateway) -> None:
    with openai.OpenAI(base_url=gateway.base_url, api_key=KEY, max_retries=0) as sdk:
        whole = sdk.chat.completions.create(
            model="local", messages=MESSAGES, max_tokens=8, temperature=0
        )
        assert whole.choices[0].finish_reason == "length"
        assert whole.usage is not None
        assert whole.usage.completion_tokens == 8
        pieces = [
            c.choices[0].delta.content or ""
            for c in sdk.chat.completions.create(
                model="local",
                messages=MESSAGES,
                max_tokens=8,
                temperature=0,
                stream=True,
            )
            if c.choices
        ]
        assert len([p for p in pieces if p]) > 1
        assert "".join(pieces) == whole.choices[0].message.content


def test_anthropic_sdk_through_messages(gateway: RunningGateway) -> None:
    with anthropic.Anthropic(base_url=gateway.url, api_key=KEY, max_retries=0) as sdk:
        message = sdk.messages.create(model="local", max_tokens=6, messages=MESSAGES)
        assert message.stop_reason == "max_tokens"
        assert message.usage.output_tokens == 6
        with sdk.messages.stream(model="local", max_tokens=6, messages=MESSAGES) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        assert final.stop_reason == "max_tokens"
        assert final.content[0].type == "text"
        assert final.content[0].text == text


def test_llama_server_errors_keep_their_status(gateway: RunningGateway) -> None:
    too_long = [{"role": "user", "content": "hi " * 3000}]  # far beyond the 512-token context
    sdk = openai.OpenAI(base_url=gateway.base_url, api_key=KEY, max_retries=0)
    with sdk, pytest.raises(openai.BadRequestError):
        sdk.chat.completions.create(model="local", max_tokens=4, messages=too_long)
