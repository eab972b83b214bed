"""Run a real ``llama-cpp-python`` OpenAI-compatible server on loopback for tests."""

from __future__ import annotations

import contextlib
import json
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from typing import IO

__all__ = ["DEFAULT_ALIAS", "LlamaServerError", "running_llama_server", "server_command"]

DEFAULT_ALIAS = "tiny-llama"
HOST = "127.0.0.1"
_POLL_INTERVAL = 0.05
_STOP_TIMEOUT = 10.0
_LOG_TAIL_BYTES = 8000
_PORT_ATTEMPTS = 3


class LlamaServerError(RuntimeError):
    """The server died or did not become ready in time."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(
    model_path: pathlib.Path,
    port: int,
    *,
    alias: str = DEFAULT_ALIAS,
    n_ctx: int = 512,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The command line used to start the server."""
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--host",
        HOST,
        "--port",
        str(port),
        "--model_alias",
        alias,
        "--n_ctx",
        str(n_ctx),
        *extra_args,
    ]


def _log_tail(log: IO[bytes]) -> str:
    log.flush()
    size = log.seek(0, 2)
    log.seek(max(0, size - _LOG_TAIL_BYTES))
    return log.read().decode("utf-8", "replace")


def _models(base_url: str, headers: dict[str, str]) -> list[str] | None:
    """Model ids from ``GET /models``, or ``None`` if the server is not answering yet."""
    request = urllib.request.Request(f"{base_url}/models", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=2.0) as response:
            body = json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return None
    return [str(model["id"]) for model in body.get("data", [])]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def _wait_ready(
    process: subprocess.Popen[bytes],
    base_url: str,
    alias: str,
    headers: dict[str, str],
    deadline: float,
    log: IO[bytes],
) -> None:
    while True:
        if process.poll() is not None:
            raise LlamaServerError(
                f"llama server exited with code {process.returncode} before becoming ready;"
                f" output:\n{_log_tail(log)}"
            )
        models = _models(base_url, headers)
        if models is not None:
            if alias not in models:
                raise LlamaServerError(f"{base_url}/models lists {models!r}, not {alias!r}")
            return
        if time.monotonic() > deadline:
            raise LlamaServerError(
                f"llama server at {base_url} not ready in time; output:\n{_log_tail(log)}"
            )
        time.sleep(_POLL_INTERVAL)


@contextlib.contextmanager
def running_llama_server(
    model_path: pathlib.Path,
    *,
    alias: str = DEFAULT_ALIAS,
    n_ctx: int = 512,
    extra_args: Sequence[str] = (),
    api_key: str | None = None,
    startup_timeout: float = 60.0,
) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` on a free loopback port.

    Yields the OpenAI-style base URL ``http://127.0.0.1:PORT/v1`` once ``GET /v1/models``
    answers and lists ``alias``; stops the server (terminate, then kill) on exit. The
    server's output goes to a temporary file whose tail is put into any startup error.
    ``api_key`` is passed as ``--api_key`` (the server then answers 401 without it).
    """
    args = [*extra_args, "--api_key", api_key] if api_key is not None else list(extra_args)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key is not None else {}
    deadline = time.monotonic() + startup_timeout
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = _free_port()
        base_url = f"http://{HOST}:{port}/v1"
        command = server_command(model_path, port, alias=alias, n_ctx=n_ctx, extra_args=args)
        with tempfile.TemporaryFile(prefix="llama-server-", suffix=".log") as log:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                try:
                    _wait_ready(process, base_url, alias, headers, deadline, log)
                except LlamaServerError:
                    # Another process may have taken the port between probe and bind.
                    if (
                        attempt < _PORT_ATTEMPTS
                        and process.poll() is not None
                        and "address already in use" in _log_tail(log).lower()
                    ):
                        continue
                    raise
                yield base_url
                return
            finally:
                _stop(process)
    raise AssertionError("unreachable")  # pragma: no cover
