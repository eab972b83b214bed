"""A gateway on loopback in front of fake OpenAI and Anthropic upstreams, shared per module.

Upstream keys are planted in the environment (and so in the gateway's providers): tests check
that they reach the upstream and never surface anywhere else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from llmrelay.server.config import GatewayConfig, Upstream
from support.fake_anthropic import FakeAnthropic
from support.fake_openai import FakeOpenAI
from support.gateway import RunningGateway, free_port, serve_gateway

GATEWAY_KEY = "gw-test-key-0123456789"
OPENAI_KEY = "sk-planted-upstream-key-ABCDEFGH"
ANTHROPIC_KEY = "sk-ant-planted-anthropic-key-XYZ"
SECRETS = (OPENAI_KEY, ANTHROPIC_KEY)


@dataclass
class Stack:
    gateway: RunningGateway
    openai: FakeOpenAI
    anthropic: FakeAnthropic

    @property
    def url(self) -> str:
        return self.gateway.url


def stack_config(openai_url: str, **changes: object) -> GatewayConfig:
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    config = GatewayConfig(
        api_keys=(GATEWAY_KEY,),
        upstreams=(
            Upstream("fake", openai_url, "TEST_UPSTREAM_KEY", ("gpt-4o-mini",)),
            Upstream("dead", dead),
            Upstream("twin", openai_url, "TEST_UPSTREAM_KEY"),
        ),
        models={
            "claude": ("Anthropic/claude-sonnet-4-5",),
            "chain": ("dead/gpt-4o-mini", "fake/gpt-4o-mini"),
            "twins": ("fake/gpt-4o-mini", "twin/gpt-4o-mini"),
        },
        default_provider="fake",
        upstream_timeout=10.0,
    )
    return config.with_(**changes)


@contextlib.contextmanager
def open_stack(*, openai_provider: bool = False, **changes: object) -> Iterator[Stack]:
    """The fakes and a gateway in front of them (`changes` to its config). With
    `openai_provider`, the `OpenAI` provider (its own /responses too) talks to the OpenAI
    fake."""
    with (
        pytest.MonkeyPatch.context() as env,
        FakeOpenAI.in_thread(api_key=OPENAI_KEY) as openai_fake,
        FakeAnthropic.in_thread(models=("claude-sonnet-4-5",), api_key=ANTHROPIC_KEY) as ant,
    ):
        env.setenv("TEST_UPSTREAM_KEY", OPENAI_KEY)
        env.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
        env.setenv("ANTHROPIC_BASE_URL", ant.base_url)
        if openai_provider:
            env.setenv("OPENAI_API_KEY", OPENAI_KEY)
            env.setenv("OPENAI_BASE_URL", openai_fake.base_url)
        with serve_gateway(stack_config(openai_fake.base_url, **changes)) as gateway:
            yield Stack(gateway, openai_fake, ant)


def cleared(stack: Stack) -> Stack:
    """`stack` with empty scripts and request logs."""
    for fake in (stack.openai, stack.anthropic):
        fake._queue.clear()
        fake.requests.clear()
    return stack


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with open_stack() as running:
        yield running


@pytest.fixture
def fresh(stack: Stack) -> Stack:
    """The shared stack with empty scripts and request logs."""
    return cleared(stack)
