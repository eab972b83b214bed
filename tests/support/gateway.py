"""The gateway, served by a real uvicorn server on loopback from a background thread, with
uvloop and httptools as `llmrelay serve` runs it.

    with serve_gateway(GatewayConfig(api_keys=("k",), upstreams=(…,))) as gw:
        OpenAI(base_url=gw.base_url + "/v1", api_key="k")

`gw.app` is the running `Gateway` (its metrics, limits); `gw.url` the root URL.
`serve_process(args)` runs `python -m llmrelay.server` in a process of its own instead.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from llmrelay.server.app import Gateway, create_app
from llmrelay.server.config import GatewayConfig


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningGateway:
    app: Gateway
    url: str
    server: uvicorn.Server

    @property
    def base_url(self) -> str:
        """For the openai SDK (…/v1)."""
        return self.url + "/v1"


@contextlib.contextmanager
def serve_gateway(
    config: GatewayConfig, *, shutdown_timeout: float = 5.0
) -> Iterator[RunningGateway]:
    app = create_app(config)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, http="httptools", loop="uvloop",
            lifespan="on", access_log=False, log_level="warning",
            timeout_graceful_shutdown=shutdown_timeout,
        )
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.01)
    try:
        yield RunningGateway(app, f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(30)


@contextlib.contextmanager
def serve_process(
    args: Sequence[str], env: Mapping[str, str] | None = None, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m llmrelay.server --port <free> *args` in its own process, yielded with its
    URL once `/health` answers; SIGTERM and a wait at the end (`process.returncode` then
    says how it ended). Its stderr goes to `log` (else nowhere)."""
    port = free_port()
    command = [sys.executable, "-m", "llmrelay.server", "--port", str(port), *args]
    with contextlib.ExitStack() as stack:
        errors = stack.enter_context(log.open("wb")) if log else subprocess.DEVNULL
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(url + "/health", timeout=1):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the gateway process did not start") from None
                    time.sleep(0.05)
            yield url, process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def raw_request(
    url: str, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, bytes]:
    """One HTTP/1.1 request sent byte for byte (paths are not normalised): (status, raw reply)."""
    host, port = url.removeprefix("http://").split(":")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1]), reply
