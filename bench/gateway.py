"""Gateway throughput: `wrk` straight to the instant upstream, then through the gateway.

    .venv/bin/python bench/gateway.py [--duration 10] [--connections 16] [--access-log]
                                      [--litellm]

Starts bench/upstream.py, the gateway (`python -m llmrelay.server`, one worker, a gateway key
required, the upstream as a config-file upstream) and `wrk -t1 -cN` with a Lua script that
POSTs a chat request; prints requests/s and p50/p99 latency for one answer and for a 100-chunk
stream, and the gateway's share of what the upstream alone serves in the same run. Installs
Debian's `wrk` if it is missing. `--litellm` adds LiteLLM's proxy in front of the same
upstream (one worker, a master key), installed with `litellm[proxy]` into a venv of its own
(~/.cache/llmrelay-bench/litellm-venv, made on first use; LITELLM_LOCAL_MODEL_COST_MAP=True so
that it starts offline).
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
LITELLM_KEY = "sk-litellm-bench"
LITELLM_VENV = Path.home() / ".cache" / "llmrelay-bench" / "litellm-venv"
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
    args = [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "--latency",
            "-s", script, url]  # fmt: skip
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
    wait_until_up(process, f"{url}/health", "the gateway", 30)
    return process, url


def start_litellm(base: str, directory: str) -> tuple[subprocess.Popen[bytes], str]:
    """LiteLLM's proxy (one worker) in front of `base`, from a venv of its own."""
    command = LITELLM_VENV / "bin" / "litellm"
    if not command.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        pip = [str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"]
        subprocess.run(pip, check=True)
    config = Path(directory, "litellm.yaml")
    config.write_text(
        "model_list:\n  - model_name: bench\n    litellm_params:\n      model: openai/bench\n"
        f"      api_base: {base}\n      api_key: sk-bench\n"
        f"general_settings:\n  master_key: {LITELLM_KEY}\n"
    )
    port = free_port()
    environment = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
    process = subprocess.Popen(
        [str(command), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
         "--num_workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until_up(process, f"{url}/health/liveliness", "LiteLLM's proxy", 120)
    return process, url


def wait_until_up(process: subprocess.Popen[bytes], url: str, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--access-log", action="store_true", help="gateway access log on")
    parser.add_argument("--litellm", action="store_true", help="compare LiteLLM's proxy too")
    args = parser.parse_args()
    wrk = ensure_wrk()
    rows = []
    with tempfile.TemporaryDirectory() as directory, upstream(quiet=True) as base:
        servers = [("llmrelay gateway", *start_gateway(base, directory, args.access_log), KEY)]
        if args.litellm:
            servers.append(("LiteLLM proxy", *start_litellm(base, directory), LITELLM_KEY))
        try:
            for stream, label in ((False, "one answer"), (True, "stream, 100 chunks")):
                direct = run_wrk(wrk, f"{base}/chat/completions",
                                 lua_script(directory, stream, None),
                                 args.duration, args.connections)  # fmt: skip
                for name, _, url, key in servers:
                    script = lua_script(directory, stream, key)
                    target = f"{url}/v1/chat/completions"
                    run_wrk(wrk, target, script, 2, args.connections)  # warm up
                    through = run_wrk(wrk, target, script, args.duration, args.connections)
                    rows.append((label, name, direct, through))
        finally:
            for _, process, _, _ in servers:
                process.terminate()
                process.wait(30)
    print(f"wrk -t1 -c{args.connections} -d{args.duration}s, one worker each "
          f"(key required, gateway access log {'on' if args.access_log else 'off'})\n")  # fmt: skip
    print("| request | through | upstream alone: req/s (p50 / p99) | through it: req/s "
          "(p50 / p99) | share |")  # fmt: skip
    print("|---|---|---:|---:|---:|")
    for label, name, direct, through in rows:
        print(f"| {label} | {name} "
              f"| {direct['rate']:,.0f} ({direct['p50']:.2f} / {direct['p99']:.2f} ms)"
              f" | {through['rate']:,.0f} ({through['p50']:.2f} / {through['p99']:.2f} ms)"
              f" | {through['rate'] / direct['rate']:.0%} |")  # fmt: skip


if __name__ == "__main__":
    main()
