"""The image fakes checked against the official SDKs, so they cannot drift from the real wire
formats, and llmrelay's requests compared with the SDKs' own for the same call.

google-genai (3.x) makes Imagen calls only in Vertex AI mode; its `:predict` request and answer
have the same shapes as the Gemini API's, so the SDK's Vertex route validates them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials
from huggingface_hub import AsyncInferenceClient
from openai import AsyncOpenAI

from llmrelay.client import AsyncClient
from llmrelay.Provider.gemini_images import GeminiImages
from llmrelay.Provider.huggingface_images import HuggingFaceImages
from support.fake_images import PNG, FakeImages

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning"),
]

KEY = "sk-sdk-image-key"


@pytest.fixture
async def fake() -> AsyncIterator[FakeImages]:
    async with FakeImages(api_key=KEY) as server:
        yield server


def camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m[1].upper(), k): camel(v) for k, v in value.items()}
    return [camel(v) for v in value] if isinstance(value, list) else value


# -- openai ---------------------------------------------------------------------------------


async def test_openai_sdk_generations(fake: FakeImages) -> None:
    sdk = AsyncOpenAI(base_url=f"{fake.root}/v1", api_key=KEY, max_retries=0)
    answer = await sdk.images.generate(model="dall-e-3", prompt="a cat", n=1, size="1792x1024",
                                       response_format="url")  # fmt: skip
    assert answer.data is not None
    assert answer.data[0].url == f"{fake.root}/files/img-0.png"
    assert answer.data[0].revised_prompt == "a revised prompt"
    ours = await AsyncClient().images.generate(
        "a cat", "dall-e-3", provider="OpenAIImages", api_key=KEY, base_url=f"{fake.root}/v1",
        aspect_ratio="16:9",
    )  # fmt: skip
    assert fake.requests[1].body == fake.requests[0].body
    assert ours.data[0].url == answer.data[0].url

    b64 = await sdk.images.generate(model="gpt-image-1", prompt="a cat", n=2)
    assert b64.data is not None
    assert b64.usage is not None
    assert b64.usage.total_tokens == 110
    assert [d.b64_json for d in b64.data] == [d.b64_json for d in (await AsyncClient(
        image_provider="OpenAIImages", api_key=KEY, base_url=f"{fake.root}/v1").images.generate(
            "a cat", "gpt-image-1", n=2, response_format="b64_json")).data]  # fmt: skip
    assert fake.requests[3].body == fake.requests[2].body
    await sdk.close()


async def test_openai_sdk_edits(fake: FakeImages) -> None:
    sdk = AsyncOpenAI(base_url=f"{fake.root}/v1", api_key=KEY, max_retries=0)
    answer = await sdk.images.edit(model="gpt-image-1", image=("cat.png", PNG, "image/png"),
                                   prompt="give it a hat", n=1, size="1024x1024")  # fmt: skip
    assert answer.data is not None
    await AsyncClient().images.edit(
        image=PNG, prompt="give it a hat", model="gpt-image-1", size="1024x1024",
        provider="OpenAIImages", api_key=KEY, base_url=f"{fake.root}/v1",
    )  # fmt: skip
    theirs, ours = fake.forms
    assert theirs["image"][1:] == ours["image"][1:] == ("image/png", PNG)
    assert {k: v for k, v in theirs.items() if k != "image"} == {
        k: v for k, v in ours.items() if k != "image"}  # fmt: skip
    await sdk.close()


# -- google-genai ---------------------------------------------------------------------------


async def test_genai_sdk_gemini_image_output(fake: FakeImages) -> None:
    options = types.HttpOptions(base_url=fake.root, api_version="v1beta")
    sdk = genai.Client(api_key=KEY, http_options=options)
    ratio = types.ImageConfig(aspect_ratio="3:2")
    config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"], image_config=ratio)
    answer = await sdk.aio.models.generate_content(
        model="gemini-2.5-flash-image",
        contents=[types.Part.from_bytes(data=PNG, mime_type="image/png"), "add a hat"],
        config=config,
    )
    assert answer.candidates is not None
    parts = answer.candidates[0].content.parts  # type: ignore[union-attr]
    assert parts is not None
    assert parts[1].inline_data is not None
    assert parts[1].inline_data.data == PNG
    await AsyncClient().images.edit(
        image=PNG, prompt="add a hat", model="gemini-2.5-flash-image", aspect_ratio="3:2",
        provider=GeminiImages, api_key=KEY, api_base=fake.root,
    )  # fmt: skip
    theirs, ours = camel(fake.requests[0].body), fake.requests[1].body
    assert ours["contents"] == theirs["contents"]
    assert ours["generationConfig"] == theirs["generationConfig"]
    assert fake.requests[1].path == fake.requests[0].path
    await sdk.aio.aclose()


# google-genai deprecates Imagen (removal not before 2027-01-01); the API still serves it.
@pytest.mark.filterwarnings("ignore:The generate_images method is deprecated")
async def test_genai_sdk_imagen_predict(fake: FakeImages) -> None:
    options = types.HttpOptions(base_url=fake.root, api_version="v1")
    sdk = genai.Client(vertexai=True, project="p", location="us-central1",
                       credentials=Credentials(token="t"), http_options=options)  # fmt: skip
    config = types.GenerateImagesConfig(number_of_images=2, aspect_ratio="16:9",
                                        guidance_scale=7.0)  # fmt: skip
    answer = await sdk.aio.models.generate_images(
        model="imagen-4.0-generate-001", prompt="a cat", config=config
    )
    assert answer.generated_images is not None
    assert [g.image.image_bytes for g in answer.generated_images if g.image] == [PNG, PNG]
    ours = await AsyncClient().images.generate(
        "a cat", "imagen-4.0-generate-001", n=2, aspect_ratio="16:9", guidance_scale=7.0,
        provider=GeminiImages, api_key=KEY, api_base=fake.root, response_format="b64_json",
    )  # fmt: skip
    theirs = fake.requests[0].body
    assert fake.requests[0].path.endswith("/models/imagen-4.0-generate-001:predict")
    assert fake.requests[1].body["instances"] == theirs["instances"]
    # the SDK adds its own defaults (outputOptions, …) to what was asked
    assert fake.requests[1].body["parameters"].items() <= theirs["parameters"].items()
    assert len(ours.data) == 2
    await sdk.aio.aclose()


# -- huggingface_hub ------------------------------------------------------------------------


async def test_huggingface_hub_text_to_image(fake: FakeImages) -> None:
    model = "black-forest-labs/FLUX.1-schnell"
    sdk = AsyncInferenceClient(provider="hf-inference", token=KEY)
    image = await sdk.text_to_image(
        "a cat", model=f"{fake.root}/hf-inference/models/{model}", negative_prompt="blur",
        height=768, width=1024, num_inference_steps=4, guidance_scale=3.5, seed=11,
    )  # fmt: skip
    assert image.size == (1, 1)
    await sdk.close()
    await AsyncClient().images.generate(
        "a cat", model, provider=HuggingFaceImages, api_key=KEY,
        api_base=f"{fake.root}/hf-inference", aspect_ratio="4:3", negative_prompt="blur",
        num_inference_steps=4, guidance_scale=3.5, seed=11,
    )  # fmt: skip
    theirs, ours = fake.requests
    assert ours.path == theirs.path
    assert ours.body == theirs.body
    assert ours.headers["authorization"] == theirs.headers["authorization"]
