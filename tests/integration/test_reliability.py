"""Issue 12's defects, each against the shared misbehaving upstream (`support.faults`) on
loopback: in-stream errors in every family's shape, a connection closed before any byte,
redirects, masking of keys in every error, size caps, and the transport's debug log."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from llmrelay.errors import (
    IdleTimeoutError,
    IncompleteResponseError,
    LLMRelayError,
    ResponseError,
    ResponseStatusError,
    ResponseTooLargeError,
    TotalTimeoutError,
)
from llmrelay.Provider import Anthropic, Gemini, OllamaNative, OpenaiTemplate
from llmrelay.providers.response import FinishReason
from llmrelay.transport import body
from llmrelay.transport.http import Timeouts
from support import faults
from support.faults import (
    OPENAI_HEAD,
    Body,
    Drip,
    FaultServer,
    Redirect,
    Reset,
    giant_event,
    in_stream_error,
    malformed,
    without_end_marker,
)
from support.secrets import assert_masked

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "hi"}]
KEY = "local-key-0123456789"  # no known key shape: only the secrets list can mask it
DONE = b"data: [DONE]\n\n"
OK_STREAM = Body(OPENAI_HEAD + DONE)
OK_JSON = Body(
    b'{"choices": [{"message": {"role": "assistant", "content": "Hello"},'
    b' "finish_reason": "stop"}]}',
    content_type="application/json",
)

# family -> (provider, model, base URL suffix)
FAMILIES: dict[str, tuple[Any, str, str]] = {
    "openai": (OpenaiTemplate, "m", "/v1"),
    "anthropic": (Anthropic, "claude-sonnet-4-5", ""),
    "gemini": (Gemini, "gemini-2.5-flash", ""),
    "ollama": (OllamaNative, "llama3.2", ""),
}


async def ask(server: FaultServer, family: str = "openai", **params: Any) -> list[Any]:
    provider, model, suffix = FAMILIES[family]
    params = {"api_base": server.url + suffix, "api_key": KEY, "max_retries": 0, **params}
    create = provider.get_async_create_function()
    return [chunk async for chunk in create(model, MESSAGES, **params)]


async def failure(server: FaultServer, family: str = "openai", **params: Any) -> LLMRelayError:
    try:
        chunks = await ask(server, family, **params)
    except LLMRelayError as error:
        return error
    pytest.fail(f"expected an error, got {chunks!r}")


# -- defect 1: errors inside a 200 stream -------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "family"),
    [
        ("openai", "openai"),
        ("openai-event", "openai"),
        ("openai-event-empty", "openai"),
        ("openai-event-text", "openai"),
        ("vllm", "openai"),
        ("anthropic", "anthropic"),
        ("gemini", "gemini"),
        ("ollama", "ollama"),
    ],
)
async def test_an_error_inside_a_stream_raises(shape: str, family: str) -> None:
    async with FaultServer(in_stream_error(shape)) as server:
        error = await failure(server, family)
    assert isinstance(error, ResponseError)
    if shape != "openai-event-empty":
        assert "boom" in str(error)


async def test_vllm_error_is_not_a_short_answer_with_finish_reason_stop() -> None:
    async with FaultServer(in_stream_error("vllm")) as server:
        chunks: list[Any] = []
        create = OpenaiTemplate.get_async_create_function()
        stream = create("m", MESSAGES, api_base=server.url + "/v1", max_retries=0)
        with pytest.raises(ResponseError):  # noqa: PT012 (the chunks before the error count)
            async for chunk in stream:
                chunks.append(chunk)
    assert chunks == ["Hel", "lo"]
    assert not any(isinstance(c, FinishReason) for c in chunks)


async def test_a_clean_close_without_done_is_incomplete() -> None:
    async with FaultServer(without_end_marker()) as server:
        error = await failure(server)
    assert isinstance(error, IncompleteResponseError)


@pytest.mark.parametrize(("framing", "family"), [("sse", "openai"), ("ndjson", "ollama")])
async def test_malformed_json_is_a_response_error(framing: Any, family: str) -> None:
    async with FaultServer(malformed(framing)) as server:
        error = await failure(server, family)
    assert type(error) is ResponseError


# -- defect 2: a connection closed before any byte ----------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_a_connection_closed_before_any_byte_is_retried(stream: bool) -> None:
    async with FaultServer() as server:
        server.script(Reset(), OK_STREAM if stream else OK_JSON)
        chunks = await ask(server, stream=stream, max_retries=1)
    assert "".join(c for c in chunks if isinstance(c, str)) in ("Hello",)
    assert len(server.requests) == 2


# -- defect 3: redirects ------------------------------------------------------------------------

CREDENTIAL_HEADERS = {
    "openai": "authorization",
    "anthropic": "x-api-key",
    "gemini": "x-goog-api-key",
}


@pytest.mark.parametrize("family", sorted(CREDENTIAL_HEADERS))
async def test_a_redirect_to_another_origin_is_refused(family: str) -> None:
    async with FaultServer() as elsewhere, FaultServer() as server:
        server.script(Redirect(f"{elsewhere.url}/steal?token=SECRETQUERY", 307))
        error = await failure(server, family)
    assert isinstance(error, ResponseStatusError)
    assert error.status_code == 307
    assert f"http://127.0.0.1:{elsewhere.port}" in str(error)
    assert "SECRETQUERY" not in str(error)
    assert elsewhere.requests == []  # the key never left for the other origin
    sent = {k.lower() for k in server.requests[0][2]}
    assert CREDENTIAL_HEADERS[family] in sent


async def test_azure_api_key_header_is_not_sent_across_origins() -> None:
    class Azure(OpenaiTemplate):
        auth_header = "api-key"

    async with FaultServer() as elsewhere, FaultServer() as server:
        server.script(Redirect(f"{elsewhere.url}/v1/chat/completions", 308))
        with pytest.raises(ResponseStatusError):
            await Azure.create_async_generator(
                "m", MESSAGES, api_base=server.url + "/v1", api_key=KEY, max_retries=0
            ).__anext__()
    assert elsewhere.requests == []


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]:1/"]
)
async def test_a_redirect_to_a_private_address_is_refused(target: str) -> None:
    async with FaultServer(Redirect(target, 302)) as server:
        error = await failure(server)
    assert isinstance(error, ResponseStatusError)
    assert "latest" not in str(error)


async def test_a_same_origin_redirect_is_followed_with_its_body() -> None:
    async with FaultServer() as server:
        server.script(Redirect("/v1/elsewhere/chat/completions", 307), OK_STREAM)
        chunks = await ask(server)
    assert "".join(c for c in chunks if isinstance(c, str)) == "Hello"
    assert [r[1] for r in server.requests] == [
        "/v1/chat/completions",
        "/v1/elsewhere/chat/completions",
    ]


# -- defect 5: keys masked in every error, however they come back --------------------------------


@pytest.mark.parametrize(
    ("fault", "family"),
    [
        (Body(f"data: bad key {KEY}\n\n".encode()), "openai"),
        (Body(f"event: error\ndata: key {KEY} refused\n\n".encode()), "openai"),
        (Body(f'data: {{"error": "key {KEY}"}}\n\n'.encode()), "openai"),
        (Body(f"{{not json {KEY}\n".encode(), content_type="application/x-ndjson"), "ollama"),
        (Body(f"key {KEY} refused".encode(), 401, content_type="text/plain"), "anthropic"),
        (Body(f"<html>{KEY}</html>".encode(), 502, content_type="text/html"), "gemini"),
        (Body(f"not json {KEY}".encode(), content_type="application/json"), "openai-json"),
    ],
)
async def test_keys_echoed_by_the_upstream_are_masked_everywhere(
    fault: Body, family: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="llmrelay")
    stream = family != "openai-json"
    async with FaultServer(fault) as server:
        error = await failure(server, family.removesuffix("-json"), stream=stream)
    logging.getLogger("llmrelay.test").exception("failed", exc_info=error)
    assert_masked(error, [KEY], caplog.records)


# -- defect 6: size caps ------------------------------------------------------------------------


@pytest.mark.parametrize(("framing", "family"), [("sse", "openai"), ("ndjson", "ollama")])
async def test_an_oversize_event_or_line_is_a_response_too_large_error(
    framing: Any, family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(body, "MAX_EVENT_BYTES", 4096)
    async with FaultServer(giant_event(8192, framing)) as server:
        error = await failure(server, family)
    assert isinstance(error, ResponseTooLargeError)
    assert isinstance(error, ResponseError)


async def test_an_event_under_the_cap_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(body, "MAX_EVENT_BYTES", 4096)
    async with FaultServer(Body(OPENAI_HEAD + DONE)) as server:
        assert "Hello" in "".join(c for c in await ask(server) if isinstance(c, str))


async def test_a_body_over_the_cap_is_refused_by_its_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(body, "MAX_BODY_BYTES", 1 << 16)
    big = Body(b'{"pad": "' + b"x" * (1 << 17) + b'"}', content_type="application/json")
    async with FaultServer(big) as server:
        error = await failure(server, stream=False)
    assert isinstance(error, ResponseTooLargeError)


async def test_an_endless_body_is_cut_while_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Content-Length and no end: only a cap enforced while reading stops it (the idle
    timeout never fires, and the total one is far away)."""
    monkeypatch.setattr(body, "MAX_BODY_BYTES", 1 << 20)
    drip = Drip(interval=0.001, payload=b"x" * 65536, content_type="application/json")
    async with FaultServer(drip) as server:
        error = await failure(server, stream=False, timeout=30)
    assert isinstance(error, ResponseTooLargeError)


# -- the transport's debug log ------------------------------------------------------------------


async def test_debug_log_has_retry_decisions_and_request_ids_and_no_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="llmrelay.transport")
    async with FaultServer() as server:
        server.script(
            Body(b'{"error": {"message": "busy"}}', 503, {"x-request-id": "req_abc123"}),
            Body(OPENAI_HEAD + DONE, headers={"request-id": "req_def456"}),
        )
        await ask(server, max_retries=1, api_key="sk-" + "k" * 40)
    lines = [r.getMessage() for r in caplog.records if r.name == "llmrelay.transport"]
    text = "\n".join(lines)
    assert "req_abc123" in text
    assert "req_def456" in text
    assert any("retry 1/1" in line and "503" in line and "waiting" in line for line in lines)
    assert "k" * 20 not in text
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name.startswith("llmrelay"))


def test_llmrelay_installs_no_log_handler() -> None:
    assert logging.getLogger("llmrelay.transport").handlers == []
    assert all(isinstance(h, logging.NullHandler) for h in logging.getLogger("llmrelay").handlers)


# -- the shared faults against every family ------------------------------------------------------

HEADS = {
    "openai": (faults.SSE, OPENAI_HEAD),
    "anthropic": (
        faults.SSE,
        faults.sse({"type": "message_start", "message": {}}, "message_start"),
    ),
    "gemini": (faults.SSE, faults.sse({"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]})),
    "ollama": (
        faults.NDJSON,
        b'{"message": {"role": "assistant", "content": "Hi"}, "done": false}\n',
    ),
}


@pytest.mark.parametrize("family", sorted(HEADS))
async def test_every_family_raises_on_a_cut_a_stall_and_a_drip(family: str) -> None:
    content_type, head = HEADS[family]
    quick = Timeouts(connect=5, idle=0.3, total=1.0)
    async with FaultServer() as server:
        server.script(faults.Cut(head, content_type))
        assert isinstance(await failure(server, family), IncompleteResponseError)
        server.script(faults.StallBody(head, content_type, max_seconds=5))
        assert isinstance(await failure(server, family, timeout=quick), IdleTimeoutError)
        server.script(faults.Drip(0.05, b"\n", content_type, max_seconds=5))
        assert isinstance(await failure(server, family, timeout=quick), TotalTimeoutError)
        server.script(faults.StallHeaders(max_seconds=5))
        assert isinstance(await failure(server, family, timeout=quick), IdleTimeoutError)
