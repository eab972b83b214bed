"""Safe by default: keys on every route, the body limit, refused redirecting fields, keys that
never surface, and no listening beyond loopback without keys."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import httpx
import pytest

from gateway.conftest import GATEWAY_KEY, SECRETS, Stack, stack_config
from llmrelay.server.cli import build_config, parser
from llmrelay.server.config import ConfigError
from support.fake_openai import Status, StreamThenError
from support.gateway import raw_request, serve_gateway

pytestmark = pytest.mark.integration

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
CHAT = {"model": "gpt-4o-mini", "messages": MESSAGES}

ROUTES = [
    ("GET", "/v1/models"),
    ("HEAD", "/v1/models"),
    ("GET", "/v1/models/"),
    ("GET", "/V1/MODELS"),
    ("GET", "/v1/Models"),
    ("GET", "/v1//models"),
    ("GET", "/v1/%6Dodels"),
    ("GET", "/v1/models/claude"),
    ("GET", "/v1/models/..%2Fhealth"),
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/chat/completions/"),
    ("POST", "/v1/Chat/Completions"),
    ("POST", "/v1/chat%2Fcompletions"),
    ("POST", "/v1/messages"),
    ("POST", "/v1/messages?beta=true"),
    ("HEAD", "/v1/messages"),
    ("POST", "/v1/images/generations"),
    ("POST", "/v1/images/edits"),
    ("GET", "/v1/providers"),
    ("GET", "/metrics"),
    ("HEAD", "/metrics"),
    ("GET", "/openapi.json"),
    ("OPTIONS", "/v1/chat/completions"),
    ("OPTIONS", "/v1/models"),
    ("OPTIONS", "*"),
    ("DELETE", "/v1/models"),
    ("PUT", "/v1/messages"),
    ("GET", "/health/"),
    ("GET", "/HEALTH"),
    ("POST", "/health"),
    ("GET", "/health/../metrics"),
    ("GET", "/nowhere"),
    ("GET", "/"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_but_health_wants_a_key(fresh: Stack, method: str, path: str) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong-key"},
        {"x-api-key": "wrong"},
        {"Authorization": f"Basic {GATEWAY_KEY}"},
        {"Authorization": f"Bearer {GATEWAY_KEY}x"},
    ):
        status, reply = raw_request(fresh.url, method, path, headers)
        assert status == 401, (headers, reply[:300])
        assert b"www-authenticate: Bearer" in reply.lower().replace(b"bearer", b"Bearer")
    assert fresh.openai.requests == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {GATEWAY_KEY}"},
        {"authorization": f"bearer {GATEWAY_KEY}"},
        {"x-api-key": GATEWAY_KEY},
        {"X-Api-Key": GATEWAY_KEY},
    ],
)
def test_a_key_opens_the_routes(fresh: Stack, headers: dict[str, str]) -> None:
    assert raw_request(fresh.url, "GET", "/v1/models", headers)[0] == 200
    assert raw_request(fresh.url, "GET", "/metrics", headers)[0] == 200
    assert raw_request(fresh.url, "GET", "/V1/MODELS", headers)[0] == 404
    assert raw_request(fresh.url, "DELETE", "/v1/models", headers)[0] == 405
    response = httpx.post(f"{fresh.url}/v1/chat/completions", headers=headers, json=CHAT)
    assert response.status_code == 200


def test_health_needs_no_key_and_tells_nothing(fresh: Stack) -> None:
    for method in ("GET", "HEAD"):
        status, _reply = raw_request(fresh.url, method, "/health")
        assert status == 200
    response = httpx.get(f"{fresh.url}/health")
    assert response.json() == {"status": "ok"}
    assert fresh.openai.requests == []
    assert fresh.anthropic.requests == []


@pytest.fixture(scope="module")
def small(stack: Stack) -> Any:
    config = stack_config(stack.openai.base_url, max_body_bytes=2000)
    with serve_gateway(config) as gateway:
        yield gateway


def test_body_over_the_limit_is_refused_before_it_is_read(small: Any) -> None:
    host, port = small.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
            b"application/json\r\nAuthorization: Bearer "
            + GATEWAY_KEY.encode()
            + b"\r\nContent-Length: 50000000\r\n\r\n{"
        )
        started = time.monotonic()
        reply = sock.recv(65536)  # answered without the 50 MB ever being sent
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert time.monotonic() - started < 2


def test_chunked_body_over_the_limit_is_refused_while_streaming(small: Any) -> None:
    def chunks() -> Any:
        for _ in range(100):
            yield b'{"padding": "' + b"x" * 500 + b'"}'

    response = httpx.post(
        f"{small.url}/v1/messages", content=chunks(), headers={"x-api-key": GATEWAY_KEY}
    )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"  # Anthropic-shaped there
    ok = httpx.post(
        f"{small.url}/v1/chat/completions", json=CHAT, headers={"x-api-key": GATEWAY_KEY}
    )
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "field",
    [
        "api_base",
        "base_url",
        "api_key",
        "proxy",
        "headers",
        "extra_headers",
        "timeout",
        "max_retries",
        "media",
    ],
)
@pytest.mark.parametrize("route", ["/v1/chat/completions", "/v1/messages"])
def test_redirecting_fields_are_refused(fresh: Stack, field: str, route: str) -> None:
    body = {**CHAT, "max_tokens": 5, field: "http://attacker.example/v1"}
    response = httpx.post(f"{fresh.url}{route}", json=body, headers={"x-api-key": GATEWAY_KEY})
    assert response.status_code == 400
    assert field in response.text
    assert "redirect" in response.text
    assert fresh.openai.requests == []


def test_the_operator_can_allow_a_field(stack: Stack) -> None:
    config = stack_config(stack.openai.base_url, allowed_fields=frozenset({"timeout"}))
    with serve_gateway(config) as gateway:
        response = httpx.post(
            f"{gateway.url}/v1/chat/completions",
            json={**CHAT, "timeout": 30},
            headers={"x-api-key": GATEWAY_KEY},
        )
    assert response.status_code == 200


def test_planted_upstream_keys_never_surface(
    fresh: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = SECRETS[0]
    leak = {"error": {"message": f"Incorrect API key provided: {key}", "type": "invalid"}}
    fresh.openai.script(
        Status(401, body=leak),
        Status(500, body=leak),
        StreamThenError(chunks=2, error=leak["error"]),
    )
    auth = {"x-api-key": GATEWAY_KEY}
    seen = [
        httpx.post(f"{fresh.url}/v1/chat/completions", json=CHAT, headers=auth).text,
        httpx.post(f"{fresh.url}/v1/messages", json={**CHAT, "max_tokens": 5}, headers=auth).text,
        httpx.post(
            f"{fresh.url}/v1/chat/completions", json={**CHAT, "stream": True}, headers=auth
        ).text,
    ]
    # A caller that puts a key in the model name gets its model echoed, but no log line has it.
    httpx.post(f"{fresh.url}/v1/chat/completions", json={**CHAT, "model": key}, headers=auth)
    for path in ("/v1/models", "/v1/providers", "/metrics", "/openapi.json", "/health"):
        seen.append(httpx.get(f"{fresh.url}{path}", headers=auth).text)
    assert "Incorrect API key" in seen[0]  # the upstream's message is shown, its key is not
    assert len(fresh.openai.requests) == 4
    text = "\n".join(seen) + "\n".join(r.getMessage() for r in caplog.records)
    for secret in (*SECRETS, GATEWAY_KEY):
        assert secret not in text
    assert any(r.name == "llmrelay.server.access" for r in caplog.records)


def test_one_access_log_line_per_request(fresh: Stack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="llmrelay.server.access")
    httpx.post(f"{fresh.url}/v1/chat/completions", json=CHAT, headers={"x-api-key": GATEWAY_KEY})
    httpx.get(f"{fresh.url}/v1/models")
    lines = [r.getMessage() for r in caplog.records if r.name == "llmrelay.server.access"]
    assert len(lines) == 2
    assert lines[0].startswith("POST /v1/chat/completions status=200 model='gpt-4o-mini'")
    assert "provider=fake" in lines[0]
    assert "prompt_tokens=10 completion_tokens=2" in lines[0]
    assert lines[1].startswith("GET /v1/models status=401")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_no_listening_beyond_loopback_without_keys(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LLMRELAY_API_KEYS", raising=False)
    with pytest.raises(ConfigError, match="without a gateway key"):
        build_config(parser().parse_args(["--host", host]))
    assert build_config(parser().parse_args(["--host", host, "--api-key", "k"])).api_keys == ("k",)
    assert build_config(parser().parse_args(["--host", host, "--insecure-no-auth"]))
    monkeypatch.setenv("LLMRELAY_API_KEYS", "a, b")
    assert build_config(parser().parse_args(["--host", host])).api_keys == ("a", "b")


def test_loopback_without_keys_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMRELAY_API_KEYS", raising=False)
    for host in ("127.0.0.1", "::1", "localhost"):
        assert build_config(parser().parse_args(["--host", host])).api_keys == ()


def test_a_bug_answers_500_without_its_traceback(
    fresh: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError(f"bug near {SECRETS[0]}")

    monkeypatch.setattr(fresh.gateway.app.catalog, "list_models", broken)
    with caplog.at_level(logging.ERROR, logger="llmrelay"):
        answer = httpx.get(f"{fresh.url}/v1/models", headers={"x-api-key": GATEWAY_KEY})
    assert answer.status_code == 500
    assert answer.json()["error"]["type"] == "server_error"
    assert "RuntimeError" not in answer.text
    assert SECRETS[0] not in answer.text
    assert "RuntimeError" in caplog.text  # the operator's log has it
