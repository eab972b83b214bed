"""The fakes' embedding routes, checked against each API's official SDK so they cannot drift."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator

import ollama
import openai
import pytest
from google import genai
from google.genai import types

from support.fake_embeddings import vector
from support.fake_gemini import FakeGemini
from support.fake_ollama import FakeOllama
from support.fake_openai import FakeOpenAI

pytestmark = pytest.mark.integration


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key="sk-test") as server:
        yield server


async def test_openai_sdk_embeddings(fake_openai: FakeOpenAI) -> None:
    client = openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="sk-test", max_retries=0)
    async with client:
        floats = await client.embeddings.create(
            model="text-embedding-3-small", input=["one two", "three"], dimensions=4
        )
        assert [d.index for d in floats.data] == [0, 1]
        assert floats.data[1].embedding == vector("three", 4)
        assert (floats.usage.prompt_tokens, floats.usage.total_tokens) == (3, 3)
        assert floats.model_extra == {}
        assert floats.data[0].model_extra == {}
        # without encoding_format the SDK asks for base64 and decodes it itself
        default = await client.embeddings.create(model="text-embedding-3-small", input="one")
        assert default.data[0].embedding == vector("one")
        assert fake_openai.requests[-1].body["encoding_format"] == "base64"
        tokens = await client.embeddings.create(model="m", input=[[1, 2, 3]])
        assert tokens.usage.prompt_tokens == 3


async def test_openai_raw_base64_is_little_endian_float32(fake_openai: FakeOpenAI) -> None:
    client = openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="sk-test", max_retries=0)
    async with client:
        raw = await client.embeddings.with_raw_response.create(
            model="m", input="one", encoding_format="base64"
        )
    text = raw.http_response.json()["data"][0]["embedding"]
    assert list(struct.unpack("<8f", base64.b64decode(text))) == vector("one")


@pytest.fixture
async def fake_gemini() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(api_key="g-key") as server:
        yield server


@pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")
async def test_google_genai_embed_content(fake_gemini: FakeGemini) -> None:
    options = types.HttpOptions(base_url=fake_gemini.base_url, api_version="v1beta")
    client = genai.Client(api_key="g-key", http_options=options)
    config = types.EmbedContentConfig(output_dimensionality=3)
    one = await client.aio.models.embed_content(
        model="gemini-embedding-001", contents="hello", config=config
    )
    assert one.embeddings is not None
    assert one.embeddings[0].values == vector("hello", 3)
    many = await client.aio.models.embed_content(
        model="gemini-embedding-001", contents=["a", "b", "c"]
    )
    assert many.embeddings is not None
    assert [e.values for e in many.embeddings] == [vector(t) for t in "abc"]
    assert any(r.path.endswith(":batchEmbedContents") for r in fake_gemini.requests)


async def test_ollama_sdk_embed() -> None:
    async with FakeOllama() as fake:
        client = ollama.AsyncClient(host=fake.base_url)
        try:
            answer = await client.embed(model="nomic-embed-text", input=["x y", "z"])
        finally:
            await client.close()
    assert answer.embeddings == [vector("x y"), vector("z")]
    assert answer.prompt_eval_count == 3
    assert answer.model == "nomic-embed-text"
