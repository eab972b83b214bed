"""The gateway in front of a real llama.cpp server (llama-cpp-python) on loopback: the
official `openai` and `anthropic` SDKs get the model's answers, streams and errors, its
embeddings (a second server, in embedding mode) and Responses translated to its chat."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from llmrelay.server.config import GatewayConfig, Upstream
from support.fake_responses import WEATHER
from support.gateway import RunningGateway, serve_gateway

pytestmark = pytest.mark.integration

KEY = "gw-llama-key"
MESSAGES: list[Any] = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module")
def gateway(llama_server_url: str, llama_embedding_server_url: str) -> Iterator[RunningGateway]:
    config = GatewayConfig(
        api_keys=(KEY,),
        upstreams=(
            Upstream("llama", llama_server_url, models=("tiny-llama",)),
            Upstream("llamaemb", llama_embedding_server_url, models=("tiny-llama",)),
        ),
        models={"local": ("llama/tiny-llama",), "local-embed": ("llamaemb/tiny-llama",)},
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


def test_embeddings_floats_base64_and_order(gateway: RunningGateway) -> None:
    texts = ["hello world", "the cat", "a dog"]
    with openai.OpenAI(base_url=gateway.base_url, api_key=KEY, max_retries=0) as sdk:
        floats = sdk.embeddings.create(model="local-embed", input=texts, encoding_format="float")
        packed = sdk.embeddings.create(model="local-embed", input=texts)  # base64, decoded
        alone = [sdk.embeddings.create(model="local-embed", input=t, encoding_format="float")
                 for t in texts]  # fmt: skip
    assert [d.index for d in floats.data] == [0, 1, 2]
    assert all(len(d.embedding) == 64 for d in floats.data)  # the tiny model's width
    for batch, single, decoded in zip(floats.data, alone, packed.data, strict=True):
        assert batch.embedding == pytest.approx(single.data[0].embedding, abs=1e-4)
        assert decoded.embedding == pytest.approx(batch.embedding, abs=1e-6)
    assert floats.usage.prompt_tokens == sum(a.usage.prompt_tokens for a in alone) > 0


def test_responses_plain_stream_and_a_tool_turn_with_previous_response_id(
    gateway: RunningGateway,
) -> None:
    with openai.OpenAI(base_url=gateway.base_url, api_key=KEY, max_retries=0) as sdk:
        plain = sdk.responses.create(model="local", input="Hi", max_output_tokens=4,
                                     temperature=0)  # fmt: skip
        assert plain.status == "incomplete"  # the tiny model never stops before its limit
        assert plain.usage is not None
        assert plain.usage.output_tokens == 4
        events = list(sdk.responses.create(model="local", input="Hi", max_output_tokens=4,
                                           temperature=0, stream=True))  # fmt: skip
        assert events[0].type == "response.created"
        assert events[-1].type == "response.incomplete"
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert text == plain.output_text
        call = {"type": "function_call", "call_id": "call_1", "name": "get_weather",
                "arguments": '{"city": "Paris"}'}  # fmt: skip
        first = sdk.responses.create(model="local", input=[{"role": "user", "content": "W?"},
                                                           call],
                                     tools=[WEATHER], max_output_tokens=2)  # fmt: skip
        output = {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}
        second = sdk.responses.create(model="local", input=[output], tools=[WEATHER],
                                      previous_response_id=first.id,
                                      max_output_tokens=2)  # fmt: skip
    assert second.previous_response_id == first.id
    assert second.usage is not None
    assert second.usage.input_tokens > first.usage.input_tokens  # the earlier turn was sent
