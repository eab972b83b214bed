"""The fake Gemini server, checked against the official google-genai SDK so it cannot drift.

The SDK is pointed at the fake with `HttpOptions(base_url=…, api_version=…)`; its async client
talks through aiohttp. Its response models forbid unknown fields, so every body and event the
fake sends is also validated as a `GenerateContentResponse` as is (camelCase, no extras). The
Vertex AI route is driven by the SDK with google-auth's own service-account credentials, which
sign their JWT and fetch the token from the fake's token endpoint.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from google import genai
from google.genai import errors, types
from google.oauth2 import service_account

from llmrelay.Provider.gemini import Gemini
from support.fake_gemini import SCOPE, Answer, FakeGemini, error_body, retry_info
from support.fake_openai import CutStream, Many, Reply, Status, StreamThenError, ToolCall, Usage

pytestmark = [
    pytest.mark.integration,
    # The SDK subclasses aiohttp.ClientSession, which aiohttp discourages with a warning.
    pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning"),
]

KEY = "AIza-sdk-test-key"
MODEL = "gemini-2.5-flash"
SIGNATURE = "c2lnbmF0dXJl"  # base64, as the SDK requires of thoughtSignature


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(api_key=KEY) as server:
        yield server


@pytest.fixture
def client(fake: FakeGemini) -> genai.Client:
    options = types.HttpOptions(base_url=fake.base_url, api_version="v1beta")
    return genai.Client(api_key=KEY, http_options=options)


def camel(value: Any) -> Any:
    """Keys in lowerCamelCase: the SDK sends some snake_case (`parameters_json_schema`), which
    the API's JSON parser takes too, as it takes every protobuf field name."""
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m[1].upper(), k): camel(v) for k, v in value.items()}
    return [camel(v) for v in value] if isinstance(value, list) else value


def strict(raw: bytes) -> list[types.GenerateContentResponse]:
    """Every JSON object of a body or SSE stream, validated as the SDK's response model."""
    text = raw.decode()
    objects = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    objects = objects or [json.loads(text)]
    return [types.GenerateContentResponse.model_validate(o) for o in objects]


async def raw_answer(fake: FakeGemini, stream: bool) -> bytes:
    """What the fake sends for its next scripted behaviour (read with plain aiohttp)."""
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    url = f"{fake.base_url}/v1beta/models/{MODEL}:{method}"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers={"x-goog-api-key": KEY}) as response,
    ):
        return await response.read()


async def test_generate_content(fake: FakeGemini, client: genai.Client) -> None:
    fake.script(Reply("Hello world", usage=Usage(prompt_tokens=7, completion_tokens=2)))
    response = await client.aio.models.generate_content(model=MODEL, contents="hi")
    assert response.text == "Hello world"
    candidate = (response.candidates or [])[0]
    assert candidate.finish_reason == types.FinishReason.STOP
    assert response.usage_metadata is not None
    assert response.usage_metadata.prompt_token_count == 7
    assert response.usage_metadata.candidates_token_count == 2
    assert response.usage_metadata.total_token_count == 9
    assert response.model_version == MODEL
    assert response.response_id
    request = fake.requests[-1]
    assert request.path == f"/v1beta/models/{MODEL}:generateContent"
    assert request.headers["x-goog-api-key"] == KEY


async def test_generate_content_stream(fake: FakeGemini, client: genai.Client) -> None:
    fake.script(Reply("Hello big wide world", reasoning="Let me think."))
    chunks = [c async for c in await client.aio.models.generate_content_stream(
        model=MODEL, contents="hi")]  # fmt: skip
    parts = [p for c in chunks for p in (c.candidates or [])[0].content.parts or []]  # type: ignore[union-attr]
    assert "".join(p.text or "" for p in parts if p.thought) == "Let me think."
    assert "".join(p.text or "" for p in parts if not p.thought) == "Hello big wide world"
    assert (chunks[-1].candidates or [])[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata is not None
    assert chunks[-1].usage_metadata.thoughts_token_count == 3
    assert fake.requests[-1].query == {"alt": "sse"}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "behaviour",
    [
        Reply("Hi", reasoning="Hmm", tool_calls=(ToolCall("f", '{"a": [1]}', "fc-1"),)),
        Many(5),
        Answer([{"text": "Hi", "thoughtSignature": SIGNATURE},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}],
               grounding={"groundingChunks": [{"web": {"uri": "https://a.example"}}]}),
        Answer(block_reason="SAFETY", usage={"promptTokenCount": 3, "totalTokenCount": 3}),
        Answer([], finish_reason="SAFETY", finish_message="Blocked."),
    ],
)  # fmt: skip
async def test_every_body_and_event_is_a_valid_response(
    fake: FakeGemini, behaviour: Any, stream: bool
) -> None:
    fake.script(behaviour)
    assert strict(await raw_answer(fake, stream))


async def test_function_calls(fake: FakeGemini, client: genai.Client) -> None:
    fake.script(Reply(None, tool_calls=(ToolCall("get_weather", '{"city": "Paris"}'),)))
    tool = types.Tool(function_declarations=[types.FunctionDeclaration(
        name="get_weather", parameters_json_schema={"type": "object"})])  # fmt: skip
    config = types.GenerateContentConfig(tools=[tool])
    response = await client.aio.models.generate_content(model=MODEL, contents="hi", config=config)
    [call] = response.function_calls or []
    assert (call.name, call.args, call.id) == ("get_weather", {"city": "Paris"}, None)
    [declaration] = camel(fake.requests[-1].body["tools"])[0]["functionDeclarations"]
    assert declaration == {"name": "get_weather", "parametersJsonSchema": {"type": "object"}}


async def test_our_request_matches_the_sdks(fake: FakeGemini, client: genai.Client) -> None:
    """The same conversation and options, sent by the SDK and by `Gemini`, give one body."""
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    contents = [
        types.Content(role="user", parts=[types.Part(text="Weather?")]),
        types.Content(role="model", parts=[types.Part(function_call=types.FunctionCall(
            name="get_weather", args={"city": "Paris"}))]),
        types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
            name="get_weather", response={"content": "Sunny"}))]),
    ]  # fmt: skip
    config = types.GenerateContentConfig(
        system_instruction="Be brief.", temperature=0.5, top_p=0.9, top_k=20, max_output_tokens=64,
        stop_sequences=["END"], seed=3, response_mime_type="application/json",
        response_json_schema=schema,
        thinking_config=types.ThinkingConfig(thinking_budget=128, include_thoughts=True),
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
            name="get_weather", description="Weather", parameters_json_schema=schema)])],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
            mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=["get_weather"])),
    )  # fmt: skip
    await client.aio.models.generate_content(model=MODEL, contents=contents, config=config)
    call = {"id": "call_0", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}  # fmt: skip
    messages = [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_0", "content": "Sunny"},
    ]  # fmt: skip
    tool = {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                             "parameters": schema}}  # fmt: skip
    create = Gemini.get_async_create_function()
    chunks = create(
        MODEL, messages, stream=False, api_key=KEY, api_base=fake.base_url, temperature=0.5,
        top_p=0.9, top_k=20, max_tokens=64, stop=["END"], seed=3, thinking_budget=128,
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
        tools=[tool], tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )  # fmt: skip
    _ = [c async for c in chunks]
    sdk, ours = camel(fake.requests[-2].body), fake.requests[-1].body
    sdk["systemInstruction"].pop("role", None)  # the SDK adds role "user"; the API ignores it
    assert ours == sdk


@pytest.mark.parametrize(
    ("behaviour", "error", "status"),
    [
        (Status(400), errors.ClientError, "INVALID_ARGUMENT"),
        (Status(403), errors.ClientError, "PERMISSION_DENIED"),
        (Status(429, body=error_body(429, details=[retry_info("7s")])), errors.ClientError,
         "RESOURCE_EXHAUSTED"),
        (Status(500), errors.ServerError, "INTERNAL"),
        (Status(503), errors.ServerError, "UNAVAILABLE"),
    ],
)  # fmt: skip
async def test_error_statuses(
    fake: FakeGemini, client: genai.Client, behaviour: Status, error: type, status: str
) -> None:
    fake.script(behaviour)
    with pytest.raises(error) as info:
        await client.aio.models.generate_content(model=MODEL, contents="hi")
    assert (info.value.code, info.value.status) == (behaviour.code, status)


async def test_a_wrong_key_is_refused_as_the_api_does(fake: FakeGemini) -> None:
    options = types.HttpOptions(base_url=fake.base_url, api_version="v1beta")
    client = genai.Client(api_key="AIza-wrong", http_options=options)
    with pytest.raises(errors.ClientError) as info:
        await client.aio.models.generate_content(model=MODEL, contents="hi")
    assert info.value.code == 400
    assert info.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


async def test_an_error_inside_the_stream(fake: FakeGemini, client: genai.Client) -> None:
    fake.script(StreamThenError(chunks=2))
    seen: list[str | None] = []

    async def read() -> None:
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents="hi")
        async for chunk in stream:
            seen.append(chunk.text)

    with pytest.raises(errors.ServerError) as info:
        await read()
    assert seen == ["t0", " t1"]
    assert info.value.code == 500


async def test_a_cut_stream_ends_mid_body_without_finish_reason(
    fake: FakeGemini, client: genai.Client
) -> None:
    fake.script(CutStream(chunks=3))
    chunks: list[types.GenerateContentResponse] = []

    async def read() -> None:
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents="hi")
        async for chunk in stream:
            chunks.append(chunk)

    with pytest.raises(aiohttp.ClientPayloadError):  # the chunked body never finished
        await read()
    assert [c.text for c in chunks] == ["t0", " t1", " t2"]
    assert all((c.candidates or [])[0].finish_reason is None for c in chunks)


async def test_vertex_route_with_google_auth_credentials(
    fake: FakeGemini, tmp_path: pathlib.Path
) -> None:
    key_file = fake.service_account(tmp_path, project="sdk-project")
    credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
        str(key_file), scopes=[SCOPE]
    )
    client = genai.Client(
        vertexai=True, credentials=credentials, project="sdk-project", location="us-central1",
        http_options=types.HttpOptions(base_url=fake.base_url, api_version="v1"),
    )  # fmt: skip
    fake.script(Reply("From Vertex"))
    # The sync client blocks: run it in a thread while the fake serves on this loop.
    response = await asyncio.to_thread(client.models.generate_content, model=MODEL, contents="hi")
    assert response.text == "From Vertex"
    assert fake.token_requests.value == 1
    request = fake.requests[-1]
    assert request.path == (
        f"/v1/projects/sdk-project/locations/us-central1/publishers/google/models/{MODEL}"
        ":generateContent"
    )
    assert request.headers["authorization"].startswith("Bearer ya29.fake-token-")
