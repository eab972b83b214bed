"""Smoke tests of the real llama-cpp-python server with the tiny generated model.

They pin down the server behaviour our provider relies on, using only the stdlib.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

pytestmark = pytest.mark.integration

MODEL = "tiny-llama"
MESSAGES = [{"role": "user", "content": "hello"}]


def _request(url: str, body: dict[str, Any] | None = None) -> urllib.request.Request:
    if body is None:
        return urllib.request.Request(url)
    return urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(_request(url), timeout=30) as response:
        return json.load(response)


def _chat(base_url: str, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": MODEL, "messages": MESSAGES, **params}
    with urllib.request.urlopen(_request(f"{base_url}/chat/completions", body), timeout=60) as r:
        assert r.status == 200
        result: dict[str, Any] = json.load(r)
    return result


def _chat_stream_lines(base_url: str, **params: Any) -> tuple[str, list[str]]:
    body: dict[str, Any] = {"model": MODEL, "messages": MESSAGES, "stream": True, **params}
    request = _request(f"{base_url}/chat/completions", body)
    with urllib.request.urlopen(request, timeout=60) as response:
        content_type = response.headers.get("Content-Type", "")
        lines = [line.decode().rstrip("\r\n") for line in response]
    return content_type, [line for line in lines if line]


def _content(result: dict[str, Any]) -> str:
    content = result["choices"][0]["message"]["content"]
    assert isinstance(content, str)
    return content


def test_models_lists_alias(llama_server_url: str) -> None:
    body = _get_json(f"{llama_server_url}/models")
    assert body["object"] == "list"
    assert [model["id"] for model in body["data"]] == [MODEL]


def test_chat_completion_non_streaming(llama_server_url: str) -> None:
    result = _chat(llama_server_url, max_tokens=8, seed=1, temperature=0)
    assert result["object"] == "chat.completion"
    assert result["model"] == MODEL
    [choice] = result["choices"]
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str)
    assert choice["message"]["content"]
    # The tiny model never emits EOS, so generation always hits max_tokens.
    assert choice["finish_reason"] == "length"
    usage = result["usage"]
    assert usage["completion_tokens"] == 8
    assert usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_greedy_is_deterministic(llama_server_url: str) -> None:
    first = _content(_chat(llama_server_url, max_tokens=8, seed=1, temperature=0))
    second = _content(_chat(llama_server_url, max_tokens=8, seed=1, temperature=0))
    assert first == second


def test_seed_is_honoured_when_sampling(llama_server_url: str) -> None:
    params: dict[str, Any] = {"max_tokens": 16, "temperature": 1.0}
    first = _content(_chat(llama_server_url, seed=7, **params))
    again = _content(_chat(llama_server_url, seed=7, **params))
    others = {_content(_chat(llama_server_url, seed=seed, **params)) for seed in (8, 9, 10)}
    assert first == again
    assert others != {first}


def test_streaming_sends_sse_chunks_and_done(llama_server_url: str) -> None:
    content_type, lines = _chat_stream_lines(llama_server_url, max_tokens=8, seed=1, temperature=0)
    assert content_type.startswith("text/event-stream")
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    streamed = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    expected = _content(_chat(llama_server_url, max_tokens=8, seed=1, temperature=0))
    assert streamed == expected


def test_streaming_has_no_usage_even_if_requested(llama_server_url: str) -> None:
    # llama-cpp-python ignores stream_options; no chunk carries usage.
    _, lines = _chat_stream_lines(
        llama_server_url, max_tokens=4, temperature=0, stream_options={"include_usage": True}
    )
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert all("usage" not in chunk for chunk in chunks)


def test_stop_string_truncates_output(llama_server_url: str) -> None:
    params: dict[str, Any] = {"max_tokens": 32, "seed": 1, "temperature": 0}
    full = _content(_chat(llama_server_url, **params))
    middle = len(full) // 2
    stop = full[middle : middle + 3]
    assert len(stop) == 3
    expected = full[: full.index(stop)]

    result = _chat(llama_server_url, stop=[stop], **params)
    assert _content(result) == expected
    assert result["choices"][0]["finish_reason"] == "stop"
    assert result["usage"]["completion_tokens"] < 32

    _, lines = _chat_stream_lines(llama_server_url, stop=stop, **params)
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    streamed = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    assert streamed == expected
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_context_overflow_is_a_400_openai_error(llama_server_url: str) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x" * 3000}]}
    request = _request(f"{llama_server_url}/chat/completions", body)
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=60)
    with excinfo.value as error:
        assert error.code == 400
        payload = json.load(error)
    assert payload["error"]["code"] == "context_length_exceeded"
    assert payload["error"]["type"] == "invalid_request_error"
    assert isinstance(payload["error"]["message"], str)


def test_invalid_request_is_a_500_openai_error(llama_server_url: str) -> None:
    # Request validation errors come back as 500 with an OpenAI-style error body.
    body = {"model": MODEL, "messages": [{"role": "wizard", "content": "hi"}]}
    request = _request(f"{llama_server_url}/chat/completions", body)
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=60)
    with excinfo.value as error:
        assert error.code == 500
        payload = json.load(error)
    assert payload["error"]["type"] == "internal_server_error"
    assert "validation error" in payload["error"]["message"]
