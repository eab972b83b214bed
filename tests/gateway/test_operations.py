"""Running the gateway: the command line, the config file, /metrics, /v1/providers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gateway.conftest import GATEWAY_KEY, Stack
from llmrelay.server.config import ConfigError, Upstream, load_config
from support.gateway import serve_process

pytestmark = pytest.mark.integration

AUTH = {"x-api-key": GATEWAY_KEY}


def test_metrics_in_prometheus_text_format(fresh: Stack) -> None:
    httpx.post(
        f"{fresh.url}/v1/chat/completions",
        headers=AUTH,
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    )
    response = httpx.get(f"{fresh.url}/metrics", headers=AUTH)
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert "# TYPE llmrelay_requests_total counter" in text
    assert 'llmrelay_requests_total{route="/v1/chat/completions",status="200"}' in text
    assert 'llmrelay_tokens_total{provider="fake",type="completion"}' in text
    assert (
        'llmrelay_request_duration_seconds_bucket{route="/v1/chat/completions",le="+Inf"}' in text
    )
    assert "llmrelay_inflight_requests 0" in text


def test_providers_list_says_what_is_configured(fresh: Stack) -> None:
    rows = {r["id"]: r for r in httpx.get(f"{fresh.url}/v1/providers", headers=AUTH).json()["data"]}
    assert rows["fake"]["upstream"] is True
    assert rows["Anthropic"]["configured"] is True  # ANTHROPIC_API_KEY is set in the stack
    assert rows["Groq"]["configured"] is (bool(os.environ.get("GROQ_API_KEY")))


def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[gateway]\nmax_inflight = 8\nallow_request_fields = ["timeout"]\n'
        'default_provider = "local"\n\n'
        '[upstreams.local]\nbase_url = "http://127.0.0.1:9/v1/"\napi_key_env = "LOCAL_KEY"\n'
        'models = ["qwen"]\n\n[models]\nfast = "local/qwen"\n'
        'smart = ["OpenAI/gpt-4o", "local/qwen"]\n'
    )
    config = load_config(path)
    assert config.max_inflight == 8
    assert config.allowed_fields == {"timeout"}
    assert config.upstreams == (Upstream("local", "http://127.0.0.1:9/v1", "LOCAL_KEY", ("qwen",)),)
    assert config.models == {"fast": ("local/qwen",), "smart": ("OpenAI/gpt-4o", "local/qwen")}
    for bad, problem in [
        ('[upstreams.x]\nbase_url = "http://h"\napi_key = "sk-1"\n', "api_key_env"),
        ('[upstreams.x]\nbase_url = "ftp://h"\n', "http(s)"),
        ('[models]\nfast = "no-slash"\n', "provider/model"),
        ('[gateway]\nmax_inflight = "many"\n', "max_inflight"),
        ("[nope]\n", "unknown tables"),
        ("not toml [", str(path)),
    ]:
        path.write_text(bad)
        with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
            load_config(path)


@pytest.mark.parametrize("workers", [1, 2])
def test_command_line_serves_and_stops_on_sigterm(tmp_path: Path, workers: int) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[upstreams.local]\nbase_url = "http://127.0.0.1:9/v1"\n')
    env = {**os.environ, "LLMRELAY_API_KEYS": "k1,k2"}
    args = ["--config", str(config), "--workers", str(workers), "--log-level", "warning"]
    with serve_process(args, env) as (url, process):
        assert httpx.get(f"{url}/v1/models").status_code == 401
        assert httpx.get(f"{url}/v1/models", headers={"x-api-key": "k2"}).status_code == 200
        assert "k1" not in httpx.get(f"{url}/v1/providers", headers={"x-api-key": "k1"}).text
    # stopped with SIGTERM: uvicorn shuts down gracefully, then re-raises the signal
    assert process.returncode in (0, -signal.SIGTERM)


def test_command_line_refuses_an_unsafe_start() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "llmrelay.server", "--host", "0.0.0.0"],
        env={k: v for k, v in os.environ.items() if k != "LLMRELAY_API_KEYS"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "without a gateway key" in result.stderr
