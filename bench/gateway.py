"""Gateway throughput: `wrk` straight to the instant upstream, then through the gateway.

    .venv/bin/python bench/gateway.py [--duration 10] [--connections 16] [--access-log]

Starts bench/upstream.py, the gateway (`python -m llmrelay.server`, one worker, a gateway key
required, the upstream as a config-file upstream) and `wrk -t1 -cN` with a Lua script that
POSTs a chat request; prints requests/s and p50/p99 latency for one answer and for a 100-chunk
stream, and the gateway's share of what the upstream alone serves in the same run. Installs
Debian's `wrk` if it is missing. (LiteLLM's proxy is not compared here: see the README.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import free_port, upstream

KEY = "bench-gateway-key"
BODY = {"model": "bench", "messages": [{"role": "user", "content": "Say something."}]}


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def lua_script(directory: str, stream: bool, key: str | None) -> str:
    body = json.dumps({**BODY, "stream": stream})
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    path = os.path.join(directory, f"post_{int(stream)}_{int(bool(key))}.lua")
    Path(path).write_text("\n".join(lines) + "\n")
    return path


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(wrk: str, url: str, script: str, duration: int, connections: int) -> dict[str, float]:
    args = [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script, url]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} error responses from {url}:\n{out}")
    return {"rate": rate, "p50": p50, "p99": p99}


def start_gateway(
    base: str, directory: str, access_log: bool
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = Path(directory, "gateway.toml")
    config.write_text(f'[gateway]\ndefault_provider = "bench"\n\n'
                      f'[upstreams.bench]\nbase_url = "{base}"\n')  # fmt: skip
    command = [sys.executable, "-m", "llmrelay.server", "--port", str(port), "--config",
               str(config), "--api-key", KEY, "--log-level", "warning"]  # fmt: skip
    if not access_log:
        command.append("--no-access-log")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start") from None
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--access-log", action="store_true", help="gateway access log on")
    args = parser.parse_args()
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as directory, upstream(quiet=True) as base:
        gateway, url = start_gateway(base, directory, args.access_log)
        try:
            rows = []
            for stream, label in ((False, "one answer"), (True, "stream, 100 chunks")):
                target = f"{base}/chat/completions"
                warm = run_wrk(wrk, f"{url}/v1/chat/completions",
                               lua_script(directory, stream, KEY), 2, args.connections)  # fmt: skip
                del warm
                direct = run_wrk(wrk, target, lua_script(directory, stream, None),
                                 args.duration, args.connections)  # fmt: skip
                through = run_wrk(wrk, f"{url}/v1/chat/completions",
                                  lua_script(directory, stream, KEY),
                                  args.duration, args.connections)  # fmt: skip
                rows.append((label, direct, through))
        finally:
            gateway.terminate()
            gateway.wait(30)
    print(f"wrk -t1 -c{args.connections} -d{args.duration}s, one gateway worker "
          f"(key required, access log {'on' if args.access_log else 'off'})\n")  # fmt: skip
    print("| request | upstream alone: req/s (p50 / p99) | through the gateway: req/s "
          "(p50 / p99) | share |")  # fmt: skip
    print("|---|---:|---:|---:|")
    for label, direct, through in rows:
        print(f"| {label} | {direct['rate']:,.0f} ({direct['p50']:.2f} / {direct['p99']:.2f} ms)"
              f" | {through['rate']:,.0f} ({through['p50']:.2f} / {through['p99']:.2f} ms)"
              f" | {through['rate'] / direct['rate']:.0%} |")  # fmt: skip


if __name__ == "__main__":
    main()
