"""`client.images` with each image provider against the fake of its API: the parameters as the
API receives them, parameters refused, results as URLs, base64 and files, hostile answers."""

from __future__ import annotations

import base64
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llmrelay.client import AsyncClient, Client
from llmrelay.client.images import choose_image_provider
from llmrelay.errors import (
    InvalidRequestError,
    MissingAuthError,
    ModelNotFoundError,
    ResponseError,
    UnsupportedParameterError,
)
from llmrelay.Provider.gemini_images import GeminiImages
from llmrelay.Provider.huggingface_images import HuggingFaceImages
from llmrelay.Provider.openai_images import OpenAIImages
from llmrelay.Provider.pollinations import PollinationsImage
from llmrelay.providers import image_data
from llmrelay.providers.retry_provider import IterListProvider
from support.fake_images import PNG, FakeImages
from support.fake_openai import Status

pytestmark = pytest.mark.integration

KEY = "sk-image-test-key"
B64 = base64.b64encode(PNG).decode()


@pytest.fixture
async def fake() -> AsyncIterator[FakeImages]:
    async with FakeImages(api_key=KEY) as server:
        yield server


def files(root: pathlib.Path) -> dict[str, bytes]:
    """Every file under `root` (relative path → content)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def openai_args(fake: FakeImages) -> dict[str, object]:
    return {"provider": "OpenAIImages", "api_key": KEY, "base_url": f"{fake.root}/v1"}


# -- OpenAI ---------------------------------------------------------------------------------


async def test_openai_dalle_url_with_aspect_ratio(fake: FakeImages) -> None:
    response = await AsyncClient().images.generate(
        "a cat", "dall-e-3", aspect_ratio="16:9", **openai_args(fake)
    )
    assert fake.requests[0].path == "/v1/images/generations"
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert fake.requests[0].body == {"model": "dall-e-3", "prompt": "a cat", "n": 1,
                                     "size": "1792x1024", "response_format": "url"}  # fmt: skip
    assert response.provider == "OpenAIImages"
    assert response.data[0].url == f"{fake.root}/files/img-0.png"
    assert response.data[0].b64_json is None
    assert response.data[0].revised_prompt == "a revised prompt"


async def test_openai_gpt_image_b64(fake: FakeImages) -> None:
    response = await AsyncClient().images.generate(
        "a cat", "gpt-image-1", n=2, response_format="b64_json", **openai_args(fake)
    )
    assert fake.requests[0].body == {"model": "gpt-image-1", "prompt": "a cat", "n": 2}
    assert [image.b64_json for image in response.data] == [B64, B64]


async def test_openai_url_downloaded_for_b64(fake: FakeImages) -> None:
    response = await AsyncClient().images.generate(
        "a cat", "dall-e-2", response_format="b64_json", **openai_args(fake)
    )
    # dall-e-2 was asked for b64_json: the API answers it directly
    assert response.data[0].b64_json == B64
    assert fake.requests[0].body["response_format"] == "b64_json"


async def test_openai_edit_is_multipart(fake: FakeImages) -> None:
    response = await AsyncClient().images.edit(
        image=PNG, prompt="give it a hat", model="gpt-image-1", size="1024x1536",
        **openai_args(fake),
    )  # fmt: skip
    assert fake.requests[0].path == "/v1/images/edits"
    form = fake.forms[0]
    assert form["image"] == ("image.png", "image/png", PNG)
    assert (form["prompt"], form["model"], form["size"], form["n"]) == (
        "give it a hat", "gpt-image-1", "1024x1536", "1")  # fmt: skip
    assert response.data[0].url == f"data:image/png;base64,{B64}"


async def test_openai_refuses_what_it_cannot_honour(fake: FakeImages) -> None:
    client = AsyncClient()
    for name, value in (("seed", 1), ("negative_prompt", "blur"), ("safe", True),
                        ("num_inference_steps", 4)):  # fmt: skip
        with pytest.raises(UnsupportedParameterError, match=f"{name}.*OpenAIImages") as info:
            await client.images.generate("a cat", "dall-e-3", **{name: value}, **openai_args(fake))
        assert info.value.provider == "OpenAIImages"
    with pytest.raises(UnsupportedParameterError, match="dall-e-3 makes"):
        await client.images.generate("a cat", "dall-e-3", size="800x600", **openai_args(fake))
    assert fake.requests == []
    # None is "not asked" (the gateway and SDK-shaped callers pass it): neither sent nor refused
    await client.images.generate("a cat", "dall-e-3", seed=None, n=None, **openai_args(fake))
    assert fake.requests[0].body == {"model": "dall-e-3", "prompt": "a cat", "n": 1,
                                     "response_format": "url"}  # fmt: skip


async def test_compatible_preset_means_its_image_endpoint(fake: FakeImages) -> None:
    response = await AsyncClient().images.generate(
        "a cat", "black-forest-labs/FLUX.1-schnell", provider="Together", api_key=KEY,
        base_url=f"{fake.root}/v1", width=512, height=384,
    )  # fmt: skip
    assert response.provider == "TogetherImages"
    assert fake.requests[0].body["size"] == "512x384"


# -- Gemini ---------------------------------------------------------------------------------


def gemini_args(fake: FakeImages) -> dict[str, object]:
    return {"provider": GeminiImages, "api_key": KEY, "api_base": fake.root}


async def test_imagen_predict(fake: FakeImages) -> None:
    response = await AsyncClient().images.generate(
        "a cat", "imagen-4.0-generate-001", n=2, aspect_ratio="9:16", guidance_scale=8.0,
        response_format="b64_json", **gemini_args(fake),
    )  # fmt: skip
    request = fake.requests[0]
    assert request.path == "/v1beta/models/imagen-4.0-generate-001:predict"
    assert request.headers["x-goog-api-key"] == KEY
    assert request.body == {"instances": [{"prompt": "a cat"}], "parameters": {
        "sampleCount": 2, "aspectRatio": "9:16", "guidanceScale": 8.0}}  # fmt: skip
    assert [image.b64_json for image in response.data] == [B64, B64]


async def test_gemini_image_output_and_edit(fake: FakeImages) -> None:
    response = await AsyncClient().images.edit(
        image=PNG, prompt="add a hat", model="gemini-2.5-flash-image", size="1536x1024",
        **gemini_args(fake),
    )  # fmt: skip
    body = fake.requests[0].body
    assert fake.requests[0].path == "/v1beta/models/gemini-2.5-flash-image:generateContent"
    assert body["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": B64}}, {"text": "add a hat"}]  # fmt: skip
    assert body["generationConfig"]["imageConfig"] == {"aspectRatio": "3:2"}
    assert response.data[0].url == f"data:image/png;base64,{B64}"


async def test_gemini_refusals(fake: FakeImages) -> None:
    client = AsyncClient()
    with pytest.raises(UnsupportedParameterError, match="guidance_scale"):
        await client.images.generate("a cat", guidance_scale=2.0, **gemini_args(fake))
    with pytest.raises(UnsupportedParameterError, match="image"):
        await client.images.edit(PNG, "hat", "imagen-4.0-generate-001", **gemini_args(fake))
    with pytest.raises(UnsupportedParameterError, match=r"seed.*GeminiImages"):
        await client.images.generate("a cat", seed=3, **gemini_args(fake))
    with pytest.raises(InvalidRequestError, match="n must be"):
        await client.images.generate("a cat", n=2, **gemini_args(fake))
    assert fake.requests == []


# -- Hugging Face ---------------------------------------------------------------------------


async def test_huggingface_text_to_image(fake: FakeImages) -> None:
    response = await AsyncClient().images.generate(
        "a cat", "black-forest-labs/FLUX.1-schnell", provider=HuggingFaceImages, api_key=KEY,
        api_base=f"{fake.root}/hf-inference", aspect_ratio="4:3", seed=11, n=2,
        negative_prompt="blur", num_inference_steps=4, guidance_scale=3.5,
        response_format="b64_json",
    )  # fmt: skip
    assert [r.path for r in fake.requests] == [
        "/hf-inference/models/black-forest-labs/FLUX.1-schnell"
    ] * 2
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert fake.requests[0].body == {"inputs": "a cat", "parameters": {
        "negative_prompt": "blur", "height": 768, "width": 1024, "num_inference_steps": 4,
        "guidance_scale": 3.5, "seed": 11}}  # fmt: skip
    assert fake.requests[1].body["parameters"]["seed"] == 12
    assert [image.b64_json for image in response.data] == [B64, B64]


async def test_huggingface_n_without_seed_gets_distinct_seeds(fake: FakeImages) -> None:
    await AsyncClient().images.generate("a cat", "a/b", provider=HuggingFaceImages, api_key=KEY,
                                        api_base=f"{fake.root}/hf-inference", n=3)  # fmt: skip
    seeds = [r.body["parameters"]["seed"] for r in fake.requests]
    assert seeds == [seeds[0], seeds[0] + 1, seeds[0] + 2]


async def test_huggingface_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(MissingAuthError, match="HF_TOKEN"):
        await AsyncClient().images.generate("a cat", provider="HuggingFaceImages")


# -- Pollinations ---------------------------------------------------------------------------


async def test_pollinations_url_and_parameters(fake: FakeImages) -> None:
    response = await AsyncClient(image_provider="PollinationsImage").images.generate(
        "a cat / on a mat", api_base=fake.root, n=2, seed=5, size="640x480", safe=True,
        enhance=True, private=True,
    )  # fmt: skip
    assert [r.path for r in fake.requests] == ["/prompt/a cat / on a mat"] * 2
    assert fake.requests[0].query == {"model": "flux", "width": "640", "height": "480",
                                      "seed": "5", "nologo": "true", "private": "true",
                                      "enhance": "true", "safe": "true"}  # fmt: skip
    assert fake.requests[1].query["seed"] == "6"
    assert response.provider == "PollinationsImage"
    assert response.data[0].url is not None
    assert response.data[0].url.startswith(f"{fake.root}/prompt/a%20cat%20%2F%20on%20a%20mat?")


async def test_pollinations_refuses_what_it_cannot_honour(fake: FakeImages) -> None:
    client = AsyncClient(image_provider="PollinationsImage")
    for name, value in (("guidance_scale", 2.0), ("negative_prompt", "x"), ("image", PNG)):
        with pytest.raises(UnsupportedParameterError, match=f"{name}.*PollinationsImage"):
            await client.images.generate("a cat", api_base=fake.root, **{name: value})
    assert fake.requests == []


# -- results: files, sizes, types -----------------------------------------------------------


async def test_save_to_writes_generated_names_inside_the_directory_only(
    fake: FakeImages, tmp_path: pathlib.Path
) -> None:
    fake.hostile = True  # result URLs and headers carry ../ names
    out = tmp_path / "out"
    response = await AsyncClient().images.generate(
        "../../etc/passwd", "dall-e-3", save_to=out, **openai_args(fake)
    )
    path = pathlib.Path(str(response.data[0].path))
    assert path.parent == out.resolve()
    assert path.name.startswith("image-")
    assert path.suffix == ".png"
    assert files(tmp_path) == {f"out/{path.name}": PNG}
    assert "evil" not in path.name
    assert "passwd" not in path.name


async def test_save_to_takes_the_type_from_the_bytes(
    fake: FakeImages, tmp_path: pathlib.Path
) -> None:
    fake.image, fake.image_type = b"GIF89a" + b"\0" * 20, "image/png"
    response = await AsyncClient(image_provider="PollinationsImage").images.generate(
        "a cat", api_base=fake.root, save_to=tmp_path
    )
    assert str(response.data[0].path).endswith(".gif")


async def test_non_image_is_refused_and_nothing_written(
    fake: FakeImages, tmp_path: pathlib.Path
) -> None:
    fake.image, fake.image_type = b"#!/bin/sh\nrm -rf /\n", "image/png"
    with pytest.raises(ResponseError, match="not a PNG, JPEG, WebP or GIF"):
        await AsyncClient().images.generate("a cat", "dall-e-3", save_to=tmp_path,
                                            **openai_args(fake))  # fmt: skip
    with pytest.raises(ResponseError, match="not an image"):
        await AsyncClient().images.generate("a cat", provider=HuggingFaceImages, api_key=KEY,
                                            api_base=f"{fake.root}/hf-inference")  # fmt: skip
    assert files(tmp_path) == {}


async def test_oversized_download_is_refused(
    fake: FakeImages, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(image_data, "MAX_IMAGE_BYTES", 4096)
    fake.image = PNG + b"\0" * 10_000
    client = AsyncClient(image_provider="PollinationsImage")
    with pytest.raises(ResponseError, match="larger than 4096 bytes"):
        await client.images.generate("a cat", api_base=fake.root)
    with pytest.raises(ResponseError, match="larger than 4096 bytes"):
        await AsyncClient().images.generate("a cat", "dall-e-3", save_to=tmp_path,
                                            **openai_args(fake))  # fmt: skip
    assert files(tmp_path) == {}


# -- choosing and failover ------------------------------------------------------------------


async def test_failover_to_the_next_image_provider(
    fake: FakeImages, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "wrong-key")
    local_openai = type("LocalOpenAI", (OpenAIImages,), {"api_base": f"{fake.root}/v1",
                                                         "api_base_env": None})  # fmt: skip
    local_pollinations = type("LocalPollinations", (PollinationsImage,),
                              {"api_base": fake.root})  # fmt: skip
    both = IterListProvider([local_openai, local_pollinations], shuffle=False)
    response = await AsyncClient(image_provider=both).images.generate("a cat", max_retries=0)
    assert response.provider == "LocalPollinations"
    assert [r.path for r in fake.requests] == ["/v1/images/generations", "/prompt/a cat"]


async def test_failover_goes_to_a_provider_that_honours_the_parameters(
    fake: FakeImages, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    local_openai = type("LocalOpenAI", (OpenAIImages,), {"api_base": f"{fake.root}/v1",
                                                         "api_base_env": None})  # fmt: skip
    local_pollinations = type("LocalPollinations", (PollinationsImage,),
                              {"api_base": fake.root})  # fmt: skip
    both = IterListProvider([local_openai, local_pollinations], shuffle=False)
    client = AsyncClient(image_provider=both)
    response = await client.images.generate("a cat", seed=4)  # OpenAI has no seed
    assert response.provider == "LocalPollinations"
    assert [r.query.get("seed") for r in fake.requests] == ["4"]
    with pytest.raises(UnsupportedParameterError, match="none of LocalOpenAI, LocalPollinations"):
        await client.images.generate("a cat", negative_prompt="blur")


async def test_g4f_style_chat_provider_with_images(fake: FakeImages) -> None:
    from llmrelay.providers.base_provider import AsyncGeneratorProvider
    from llmrelay.providers.response import ImageResponse

    class G4fImages(AsyncGeneratorProvider):
        @classmethod
        async def create_async_generator(  # type: ignore[override]
            cls, model: str, messages: Any, **kwargs: Any
        ) -> Any:
            yield "Here it is: "
            yield ImageResponse(f"data:image/png;base64,{B64}", alt=kwargs["prompt"])

    response = await AsyncClient(image_provider=G4fImages).images.generate("a cat")
    assert response.data[0].url == f"data:image/png;base64,{B64}"
    assert response.provider == "G4fImages"


async def test_url_downloaded_when_b64_is_asked(fake: FakeImages) -> None:
    from llmrelay.providers.base_provider import AsyncGeneratorProvider
    from llmrelay.providers.response import ImageResponse

    class UrlImages(AsyncGeneratorProvider):
        @classmethod
        async def create_async_generator(  # type: ignore[override]
            cls, model: str, messages: Any, **kwargs: Any
        ) -> Any:
            yield ImageResponse([f"{fake.root}/files/a.png", f"{fake.root}/files/b.png"])

    response = await AsyncClient(image_provider=UrlImages).images.generate(
        "a cat", response_format="b64_json"
    )
    assert [image.b64_json for image in response.data] == [B64, B64]
    assert [image.url for image in response.data] == [None, None]
    assert [r.path for r in fake.requests] == ["/files/a.png", "/files/b.png"]


async def test_server_error_then_answer_is_retried(fake: FakeImages) -> None:
    fake.script(Status(503))
    response = await AsyncClient(image_provider="PollinationsImage").images.generate(
        "a cat", api_base=fake.root
    )
    assert len(fake.requests) == 2
    assert response.data[0].url is not None


async def test_gemini_chat_provider_means_its_image_models(fake: FakeImages) -> None:
    response = await AsyncClient().images.generate(
        "a cat", "gemini-2.5-flash-image", provider="Gemini", api_key=KEY, api_base=fake.root
    )
    assert response.provider == "GeminiImages"
    assert fake.requests[0].body["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]


def test_routing_by_model(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert choose_image_provider(None)[0] is PollinationsImage
    assert choose_image_provider(None, "flux")[0] is PollinationsImage
    assert choose_image_provider(None, "dall-e-3")[0] is OpenAIImages
    assert choose_image_provider(None, "some/model")[0] is HuggingFaceImages
    with pytest.raises(ModelNotFoundError, match="no image provider serves"):
        choose_image_provider(None, "nope")
    assert choose_image_provider(None, api_key="k")[0] is OpenAIImages
    monkeypatch.setenv("GEMINI_API_KEY", "g")
    assert choose_image_provider(None, "gemini-2.5-flash-image")[0] is GeminiImages
    # No model: the configured image providers first, the keyless default last.
    chosen = choose_image_provider(None)[0]
    assert isinstance(chosen, IterListProvider)
    assert chosen.providers == [GeminiImages, PollinationsImage]


def test_sync_client_generates() -> None:
    with FakeImages.in_thread() as fake:
        local = type("LocalPollinations", (PollinationsImage,), {"api_base": fake.root})
        response = Client(image_provider=local).images.generate("a cat", response_format="b64_json")
    assert response.data[0].b64_json == B64
    assert response.model_dump()["data"][0] == {"url": None, "b64_json": B64,
                                                "revised_prompt": None}  # fmt: skip
