"""`client.embeddings.create` over each provider family, against the fakes' wire formats."""

from __future__ import annotations

import base64
import json
import pathlib
import struct
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest

from llmrelay.client import AsyncClient, Client
from llmrelay.client.embeddings import create_embeddings
from llmrelay.errors import InvalidRequestError, UnsupportedParameterError
from llmrelay.Provider.gemini import Gemini
from llmrelay.Provider.ollama_native import OllamaNative
from llmrelay.Provider.openai_compatible import OpenaiTemplate
from llmrelay.Provider.vertex import VertexAI
from support.fake_embeddings import vector
from support.fake_gemini import FakeGemini
from support.fake_ollama import FakeOllama
from support.fake_openai import FakeOpenAI

pytestmark = pytest.mark.integration


class SmallBatches(OpenaiTemplate):
    embedding_batch_size: ClassVar[int] = 3


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key="sk-test") as server:
        yield server


async def test_async_client_openai_compatible(fake: FakeOpenAI) -> None:
    client = AsyncClient(api_key="sk-test", base_url=fake.base_url, max_retries=0)
    answer = await client.embeddings.create(model="emb", input=["a b", "c"], dimensions=5)
    dumped = answer.model_dump()
    assert dumped["object"] == "list"
    assert dumped["model"] == "emb"
    assert dumped["data"] == [
        {"object": "embedding", "index": 0, "embedding": vector("a b", 5)},
        {"object": "embedding", "index": 1, "embedding": vector("c", 5)},
    ]
    assert dumped["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    body = fake.requests[-1].body
    assert body == {"model": "emb", "input": ["a b", "c"], "encoding_format": "float",
                    "dimensions": 5}  # fmt: skip


def test_sync_client_base64_round_trip() -> None:
    with FakeOpenAI.in_thread(api_key="sk-test") as server:
        client = Client(api_key="sk-test", base_url=server.base_url, max_retries=0)
        answer = client.embeddings.create(model="emb", input="hello", encoding_format="base64")
    text = answer.data[0].embedding
    assert isinstance(text, str)
    assert list(struct.unpack("<8f", base64.b64decode(text))) == vector("hello")


async def test_token_ids_pass_to_openai(fake: FakeOpenAI) -> None:
    client = AsyncClient(api_key="sk-test", base_url=fake.base_url, max_retries=0)
    answer = await client.embeddings.create(model="emb", input=[5, 6, 7])
    assert fake.requests[-1].body["input"] == [[5, 6, 7]]
    assert answer.usage.prompt_tokens == 3


async def test_batches_come_back_in_order(fake: FakeOpenAI) -> None:
    texts = [f"text {i}" for i in range(10)]
    answer = await create_embeddings(SmallBatches, "emb", texts, api_key="sk-test",
                                     api_base=fake.base_url)  # fmt: skip
    assert [d.embedding for d in answer.data] == [vector(t) for t in texts]
    assert [d.index for d in answer.data] == list(range(10))
    sizes = sorted(len(r.body["input"]) for r in fake.requests if r.path.endswith("/embeddings"))
    assert sizes == [1, 3, 3, 3]
    assert answer.usage.prompt_tokens == 20


async def test_unknown_parameter_is_refused_by_name(fake: FakeOpenAI) -> None:
    client = AsyncClient(api_key="sk-test", base_url=fake.base_url)
    with pytest.raises(UnsupportedParameterError, match="'truncate'"):
        await client.embeddings.create(model="emb", input="x", truncate=True)
    with pytest.raises(InvalidRequestError, match="encoding_format"):
        await client.embeddings.create(model="emb", input="x", encoding_format="int8")
    with pytest.raises(InvalidRequestError, match="input"):
        await client.embeddings.create(model="emb", input=[])
    assert fake.requests == []


async def test_gemini_batches_of_100_in_order() -> None:
    texts = [f"t{i}" for i in range(230)]
    async with FakeGemini(api_key="g-key") as server:
        client = AsyncClient(provider=Gemini)
        answer = await client.embeddings.create(
            model="gemini-embedding-001", input=texts, dimensions=4,
            api_key="g-key", api_base=server.base_url,
        )  # fmt: skip
        single = await create_embeddings(Gemini, "models/gemini-embedding-001", "one",
                                         task_type="RETRIEVAL_QUERY", api_key="g-key",
                                         api_base=server.base_url)  # fmt: skip
        assert server.requests[-1].body["taskType"] == "RETRIEVAL_QUERY"
        paths = [r.path for r in server.requests]
        sizes = sorted(len(r.body["requests"]) for r in server.requests if "requests" in r.body)
    assert [d.embedding for d in answer.data] == [vector(t, 4) for t in texts]
    assert sizes == [30, 100, 100]
    assert single.data[0].embedding == vector("one")
    assert paths[-1] == "/v1beta/models/gemini-embedding-001:embedContent"
    assert all(r.headers.get("x-goog-api-key") == "g-key" for r in server.requests)


async def test_gemini_refuses_token_ids_and_user() -> None:
    with pytest.raises(UnsupportedParameterError, match="token ids"):
        await create_embeddings(Gemini, "gemini-embedding-001", [[1, 2]], api_key="k")
    with pytest.raises(UnsupportedParameterError, match="'user'"):
        await create_embeddings(Gemini, "gemini-embedding-001", "x", user="u", api_key="k")


async def test_ollama_native_embed_and_refused_dimensions() -> None:
    async with FakeOllama() as server:
        answer = await create_embeddings(OllamaNative, "nomic-embed-text", ["p q", "r"],
                                         api_base=server.base_url)  # fmt: skip
        with pytest.raises(UnsupportedParameterError, match="'dimensions'"):
            await create_embeddings(OllamaNative, "nomic-embed-text", "x", dimensions=3,
                                    api_base=server.base_url)  # fmt: skip
        embeds = [r for r in server.requests if r.path == "/api/embed"]
    assert [d.embedding for d in answer.data] == [vector("p q"), vector("r")]
    assert answer.usage.prompt_tokens == 3
    assert len(embeds) == 1


async def test_vertex_predict(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT",
                 "GOOGLE_CLOUD_LOCATION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLMRELAY_CACHE_DIR", str(tmp_path / "cache"))
    async with FakeGemini() as server:
        key_file = server.service_account(tmp_path)
        params: dict[str, Any] = {"credentials": str(key_file), "api_base": server.base_url}
        answer = await create_embeddings(VertexAI, "text-embedding-005", ["a b c", "d"],
                                         dimensions=6, **params)  # fmt: skip
        again = await create_embeddings(VertexAI, "text-embedding-005", "e", **params)
        predicts = [r for r in server.requests if r.path.endswith(":predict")]
        tokens = server.token_requests.value
    assert [d.embedding for d in answer.data] == [vector("a b c", 6), vector("d", 6)]
    assert answer.usage.prompt_tokens == 4
    assert again.data[0].embedding == vector("e")
    assert predicts[0].path == ("/v1/projects/fake-project/locations/us-central1/publishers/"
                                "google/models/text-embedding-005:predict")  # fmt: skip
    assert json.loads(predicts[0].raw)["parameters"] == {"outputDimensionality": 6}
    assert tokens == 1  # the cached token is reused


async def test_a_failover_list_is_refused_and_unknown_models_are_not_found() -> None:
    from llmrelay.errors import ModelNotFoundError
    from llmrelay.providers.retry_provider import IterListProvider

    chain = IterListProvider([OpenaiTemplate, OllamaNative])
    with pytest.raises(InvalidRequestError, match="one provider"):
        await AsyncClient(provider=chain).embeddings.create(model="emb", input="x")
    with pytest.raises(ModelNotFoundError):  # routed by name: nothing serves it
        await AsyncClient().embeddings.create(model="no-such-embedding-model", input="x")
