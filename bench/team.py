"""The team layer's cost: gateway throughput with virtual keys, limits and usage recording on
(SQLite, then Redis) vs off, in one run, with the same `wrk` approach as bench/gateway.py.

    .venv/bin/python bench/team.py [--duration 10] [--connections 16]

Each configuration is one gateway worker (`python -m llmrelay.server`) in front of the instant
upstream (bench/upstream.py). "off": a gateway key (--api-key), nothing recorded. "sqlite" /
"redis": a virtual key with rpm, tpm and a budget far above what the run uses, so every request
is reserved, settled and recorded (one usage record each). Needs `redis-server` for the Redis
row (Debian's package; installed with apt-get if missing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from common import free_port, upstream
from gateway import ensure_wrk, lua_script, run_wrk

KEY = "bench-gateway-key"
ADMIN = "bench-admin-key"


@contextlib.contextmanager
def redis_server(directory: str) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        subprocess.run(["apt-get", "install", "-y", "redis-server"], check=True,
                       capture_output=True)  # fmt: skip
        binary = shutil.which("redis-server") or "redis-server"
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def gateway(base: str, directory: str, state: str | None) -> Iterator[tuple[str, str]]:
    """A gateway; yields its URL and the key to send."""
    port = free_port()
    config = Path(directory, "gateway.toml")
    config.write_text(f'[gateway]\ndefault_provider = "bench"\n\n'
                      f'[upstreams.bench]\nbase_url = "{base}"\n')  # fmt: skip
    prices = Path(directory, "prices.json")
    prices.write_text(json.dumps({"bench": {"input": 0.15, "output": 0.60}}))
    command = [sys.executable, "-m", "llmrelay.server", "--port", str(port), "--config",
               str(config), "--api-key", KEY, "--log-level", "warning",
               "--no-access-log"]  # fmt: skip
    if state:
        command += ["--state", state, "--admin-key", ADMIN, "--prices", str(prices)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the gateway did not start") from None
                time.sleep(0.1)
        key = KEY
        if state:
            spec = {"name": "bench", "rpm": 10**9, "tpm": 10**12, "budget": 10**6}
            request = urllib.request.Request(
                f"{url}/v1/admin/keys", data=json.dumps(spec).encode(), method="POST",
                headers={"authorization": f"Bearer {ADMIN}", "content-type": "application/json"},
            )  # fmt: skip
            with urllib.request.urlopen(request) as reply:
                key = json.loads(reply.read())["key"]
        yield url, key
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    wrk = ensure_wrk()
    rows: list[tuple[str, dict[str, float], dict[str, float]]] = []
    with (
        tempfile.TemporaryDirectory() as directory,
        upstream(quiet=True) as base,
        redis_server(directory) as redis_url,
    ):
        states = (("off", None), ("sqlite", f"sqlite:///{directory}/state.db"),
                  ("redis", redis_url))  # fmt: skip
        for label, state in states:
            with gateway(base, directory, state) as (url, key):
                target = f"{url}/v1/chat/completions"
                script = lua_script(directory, False, key)
                run_wrk(wrk, target, script, 2, args.connections)  # warm-up
                loaded = run_wrk(wrk, target, script, args.duration, args.connections)
                alone = run_wrk(wrk, target, script, max(args.duration // 2, 2), 1)
                rows.append((label, loaded, alone))
    off, off_alone = rows[0][1], rows[0][2]
    print(f"wrk -t1 -c{args.connections} -d{args.duration}s, one gateway worker, one answer "
          "per request (no stream), access log off\n")  # fmt: skip
    print(f"| team layer | req/s (-c{args.connections}) | p50 / p99 | share of off "
          "| p50 one connection (-c1) | added at p50 (-c1) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for label, r, a in rows:
        print(f"| {label} | {r['rate']:,.0f} | {r['p50']:.2f} / {r['p99']:.2f} ms | "
              f"{r['rate'] / off['rate']:.0%} | {a['p50']:.3f} ms | "
              f"{a['p50'] - off_alone['p50']:+.3f} ms |")  # fmt: skip


if __name__ == "__main__":
    main()
