"""Gateways with the team layer in front of the fake OpenAI upstream, on SQLite or on a real
redis-server (Debian's package) started on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmrelay.server.config import GatewayConfig, Upstream
from support.fake_openai import FakeOpenAI
from support.gateway import RunningGateway, free_port, serve_gateway

GATEWAY_KEY = "gw-team-test-key-0123456789"
ADMIN_KEY = "admin-team-test-key-0123456789"
UPSTREAM_KEY = "sk-planted-upstream-key-TEAM"
#: USD per million tokens: large, so that a few requests reach a small budget.
PRICES = {"gpt-4o-mini": {"input": 1000.0, "output": 1000.0}}


class RedisServer:
    """A real redis-server on loopback; `stop()`/`start()` keep its data (append-only file)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def flush(self) -> None:
        import socket

        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            assert sock.recv(64).startswith(b"+OK")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (.ci/run installs it: apt-get)")
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with pytest.MonkeyPatch.context() as env, FakeOpenAI.in_thread(api_key=UPSTREAM_KEY) as fake:
        env.setenv("TEST_UPSTREAM_KEY", UPSTREAM_KEY)
        yield fake


def team_config(upstream: FakeOpenAI, state: str, tmp: Path, **changes: Any) -> GatewayConfig:
    prices = tmp / "prices.json"
    prices.write_text(json.dumps(PRICES))
    config = GatewayConfig(
        api_keys=(GATEWAY_KEY,),
        upstreams=(Upstream("fake", upstream.base_url, "TEST_UPSTREAM_KEY", ("gpt-4o-mini",)),),
        default_provider="fake",
        upstream_timeout=10.0,
        state=state,
        admin_key=ADMIN_KEY,
        prices=str(prices),
        state_spool=str(tmp / f"spool-{free_port()}.jsonl"),
    )
    return config.with_(**changes)


@contextlib.contextmanager
def gateways(configs: Sequence[GatewayConfig]) -> Iterator[list[RunningGateway]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(serve_gateway(c)) for c in configs]


def chat_body(stream: bool = False, model: str = "gpt-4o-mini") -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 4,
    }
    if stream:
        body["stream"] = True
    return body


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    key: str,
    body: dict[str, Any],
    path: str = "/v1/chat/completions",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    sent = {"authorization": f"Bearer {key}", **(headers or {})}
    async with session.post(url + path, json=body, headers=sent) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, await r.read()


def post(
    url: str,
    key: str,
    body: dict[str, Any],
    path: str = "/v1/chat/completions",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request: (status, headers with lower-case names, body)."""
    return burst([url], key, 1, body, path, headers)[0]


def burst(
    urls: Sequence[str],
    key: str,
    count: int,
    body: dict[str, Any] | None = None,
    path: str = "/v1/chat/completions",
    headers: dict[str, str] | None = None,
) -> list[tuple[int, dict[str, str], bytes]]:
    """`count` concurrent requests (chat unless `path` says), spread over `urls` in turn."""

    async def run() -> list[tuple[int, dict[str, str], bytes]]:
        async with aiohttp.ClientSession() as session:
            return await asyncio.gather(
                *(
                    _post(session, urls[i % len(urls)], key, body or chat_body(), path, headers)
                    for i in range(count)
                )
            )

    return asyncio.run(run())


def admin(
    url: str, method: str, path: str, body: Any = None, key: str = ADMIN_KEY
) -> tuple[int, Any]:
    async def run() -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, url + path, json=body, headers={"authorization": f"Bearer {key}"}
            ) as r,
        ):
            return r.status, json.loads(await r.read() or b"null")

    return asyncio.run(run())


def create_key(url: str, **spec: Any) -> dict[str, Any]:
    status, data = admin(url, "POST", "/v1/admin/keys", {"name": "team", **spec})
    assert status == 201, data
    assert isinstance(data, dict)
    return data
