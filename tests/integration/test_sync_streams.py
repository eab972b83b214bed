"""The sync client, run on the caller thread's own loop, ends upstream requests at once."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from llmrelay.client import Client
from support.fake_openai import FakeOpenAI, Stall

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.in_thread() as server:
        yield server


def test_leaving_a_sync_stream_early_closes_the_upstream_request(fake: FakeOpenAI) -> None:
    fake.script(Stall("body", 2))
    stream = Client(base_url=fake.base_url, api_key="k").chat.completions.create(
        model="m", messages=MESSAGES, stream=True
    )
    for _ in stream:  # type: ignore[union-attr]
        break
    stream.close()  # type: ignore[union-attr]
    fake.disconnects.wait(1, timeout=5.0)


def test_ctrl_c_during_a_sync_stream_closes_the_upstream_request(fake: FakeOpenAI) -> None:
    fake.script(Stall("body", 2))

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        stream = Client(base_url=fake.base_url, api_key="k").chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            for _ in stream:  # type: ignore[union-attr]
                pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    fake.disconnects.wait(1, timeout=5.0)
