"""Shared by the benchmarks: start bench/upstream.py in its own process, and time CPU."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def upstream(quiet: bool = False) -> Iterator[str]:
    """Run the instant upstream in a separate process; yield its base URL (…/v1). `quiet`:
    its stderr is dropped (load generators that cut connections make it complain)."""
    port = free_port()
    script = Path(__file__).with_name("upstream.py")
    stderr = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen([sys.executable, str(script), str(port)], stderr=stderr)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the benchmark upstream did not start") from None
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(10)
