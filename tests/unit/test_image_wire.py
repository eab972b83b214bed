"""The pure side of images: parameter translation, each API's request shape, type sniffing, the
README table, and the vision/image helpers on providers."""

from __future__ import annotations

import base64
import pathlib
import re

import pytest

from llmrelay.client.images import image_providers
from llmrelay.errors import (
    ContentFilterError,
    InvalidRequestError,
    ResponseError,
    UnsupportedParameterError,
)
from llmrelay.protocols.gemini.images import (
    IMAGEN_RATIOS,
    content_body,
    parse_content,
    parse_predictions,
    predict_body,
)
from llmrelay.protocols.huggingface.images import model_url, text_to_image_body
from llmrelay.protocols.openai.images import edit_form, generation_body, image_size
from llmrelay.protocols.pollinations.images import image_url
from llmrelay.Provider import Anthropic, Gemini, GeminiImages, OllamaNative, OpenAI, VertexAI
from llmrelay.providers.image_data import decode_data_uri, image_input, sniff_image_type
from llmrelay.providers.image_params import (
    aspect_pixels,
    closest_ratio,
    honoured_parameters,
    parameter_table,
    pixels,
    resolve_seed,
)
from support.fake_images import PNG

README = pathlib.Path(__file__).parents[2] / "README.md"
B64 = base64.b64encode(PNG).decode()


def test_readme_table_is_the_table_the_code_makes() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- images-table -->\n(.*?)\n<!-- /images-table -->", text, re.S)
    assert match, "README lacks the Images table"
    assert match[1] == parameter_table(image_providers())


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("OpenAIImages", {"n", "size", "width", "height", "aspect_ratio", "image"}),
        ("GeminiImages", {"n", "size", "width", "height", "aspect_ratio", "guidance_scale",
                          "image"}),
        ("HuggingFaceImages", {"n", "size", "width", "height", "aspect_ratio", "seed",
                               "randomize_seed", "guidance_scale", "num_inference_steps",
                               "negative_prompt"}),
        ("PollinationsImage", {"n", "size", "width", "height", "aspect_ratio", "seed",
                               "randomize_seed", "safe", "enhance", "private"}),
    ],
)  # fmt: skip
def test_which_provider_honours_what(provider: str, expected: set[str]) -> None:
    chosen = next(p for p in image_providers() if p.__name__ == provider)
    assert set(honoured_parameters(chosen)) == expected


# -- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "size"),
    [("1:1", (1024, 1024)), ("16:9", (1024, 576)), ("9:16", (576, 1024)), ("4:3", (1024, 768)),
     ("3:2", (1024, 680)), ("21:9", (1024, 440))],
)  # fmt: skip
def test_aspect_ratio_to_pixels(ratio: str, size: tuple[int, int]) -> None:
    assert aspect_pixels(ratio, "P") == size


def test_pixels_from_size_width_height_or_ratio() -> None:
    assert pixels("P", size="800x600") == (800, 600)
    assert pixels("P", width=512) == (512, 512)
    assert pixels("P", width=512, height=256) == (512, 256)
    assert pixels("P") is None
    with pytest.raises(InvalidRequestError, match="not both"):
        pixels("P", size="800x600", aspect_ratio="1:1")
    for bad in ({"size": "big"}, {"aspect_ratio": "wide"}, {"width": 3}, {"width": True}):
        with pytest.raises(InvalidRequestError):
            pixels("P", **bad)


def test_ratio_enum_mapping_refuses_shapes_it_does_not_have() -> None:
    assert closest_ratio("G", IMAGEN_RATIOS, aspect_ratio="16:9") == "16:9"
    assert closest_ratio("G", IMAGEN_RATIOS, size="1536x864") == "16:9"
    assert closest_ratio("G", IMAGEN_RATIOS, aspect_ratio="32:18") == "16:9"
    with pytest.raises(UnsupportedParameterError, match="G makes images in the aspect ratios"):
        closest_ratio("G", IMAGEN_RATIOS, aspect_ratio="21:9")


def test_seed_and_randomize_seed() -> None:
    assert resolve_seed(7, None, "P") == 7
    assert resolve_seed(None, None, "P") is None
    seeds = {resolve_seed(None, True, "P") for _ in range(5)}
    assert all(isinstance(s, int) for s in seeds)
    assert len(seeds) > 1
    with pytest.raises(InvalidRequestError, match="not both"):
        resolve_seed(7, True, "P")
    with pytest.raises(InvalidRequestError):
        resolve_seed(-1, None, "P")


# -- OpenAI ---------------------------------------------------------------------------------


def test_openai_sizes_per_model() -> None:
    assert image_size("O", "gpt-image-1", None, None, None, "16:9") == "1536x1024"
    assert image_size("O", "dall-e-3", None, None, None, "9:16") == "1024x1792"
    assert image_size("O", "dall-e-3", "1024x1024", None, None, None) == "1024x1024"
    assert image_size("O", "some-compatible-model", None, 640, 480, None) == "640x480"
    assert image_size("O", "gpt-image-1", "auto", None, None, None) == "auto"
    with pytest.raises(UnsupportedParameterError, match=r"size.*dall-e-3 makes"):
        image_size("O", "dall-e-3", "800x600", None, None, None)
    with pytest.raises(UnsupportedParameterError, match="aspect_ratio"):
        image_size("O", "dall-e-2", None, None, None, "16:9")


def test_openai_generation_body() -> None:
    assert generation_body("dall-e-3", "a cat", 1, "1024x1024", "url") == {
        "model": "dall-e-3", "prompt": "a cat", "n": 1, "size": "1024x1024",
        "response_format": "url"}  # fmt: skip
    assert generation_body("dall-e-3", "a", 1, None, None, "hd", "vivid") == {
        "model": "dall-e-3", "prompt": "a", "n": 1, "quality": "hd", "style": "vivid"}  # fmt: skip
    # gpt-image models refuse response_format (they always answer base64)
    assert generation_body("gpt-image-1", "a cat", 2, None, "url") == {
        "model": "gpt-image-1", "prompt": "a cat", "n": 2}  # fmt: skip


def test_openai_edit_form_names_the_file_from_its_type() -> None:
    body, content_type = edit_form({"model": "gpt-image-1", "prompt": "hat", "n": 1,
                                    "size": None}, (PNG, "image/png"), boundary="XX")  # fmt: skip
    assert content_type == "multipart/form-data; boundary=XX"
    assert b'name="model"\r\n\r\ngpt-image-1\r\n' in body
    assert b'name="size"' not in body
    assert b'name="image"; filename="image.png"\r\nContent-Type: image/png\r\n\r\n' + PNG in body
    assert body.endswith(b"\r\n--XX--\r\n")


# -- Gemini ---------------------------------------------------------------------------------


def test_imagen_predict_body_and_answer() -> None:
    assert predict_body("a cat", 2, "16:9", 7.5) == {
        "instances": [{"prompt": "a cat"}],
        "parameters": {"sampleCount": 2, "aspectRatio": "16:9", "guidanceScale": 7.5}}  # fmt: skip
    answer = {"predictions": [{"bytesBase64Encoded": B64, "mimeType": "image/png"}]}
    assert parse_predictions(answer, "G") == [f"data:image/png;base64,{B64}"]
    with pytest.raises(ContentFilterError):
        parse_predictions({"predictions": [{"raiFilteredReason": "x"}]}, "G")


def test_gemini_image_output_body_and_answer() -> None:
    body = content_body("a cat", "3:2", ("image/png", B64))
    assert body == {
        "contents": [{"role": "user", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": B64}}, {"text": "a cat"}]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"],
                             "imageConfig": {"aspectRatio": "3:2"}},
    }  # fmt: skip
    answer = {"candidates": [{"content": {"parts": [
        {"text": "Here"}, {"inlineData": {"mimeType": "image/jpeg", "data": B64}}]}}]}  # fmt: skip
    # the type comes from the bytes, not from what the API says
    assert parse_content(answer, "G") == ([f"data:image/png;base64,{B64}"], "Here")
    with pytest.raises(ContentFilterError, match="SAFETY"):
        parse_content({"promptFeedback": {"blockReason": "SAFETY"}}, "G")


# -- Hugging Face and Pollinations ---------------------------------------------------------


def test_hf_body_as_huggingface_hub_sends_it() -> None:
    assert text_to_image_body("a cat") == {"inputs": "a cat"}
    assert text_to_image_body("a cat", width=512, height=256, seed=3, guidance_scale=3.5,
                              num_inference_steps=4, negative_prompt="blur") == {
        "inputs": "a cat", "parameters": {"negative_prompt": "blur", "height": 256, "width": 512,
                                          "num_inference_steps": 4, "guidance_scale": 3.5,
                                          "seed": 3}}  # fmt: skip
    assert model_url("https://h/hf-inference", "owner/na me") == (
        "https://h/hf-inference/models/owner/na%20me"
    )


def test_pollinations_url_keeps_the_prompt_in_one_path_segment() -> None:
    url = image_url("https://img.example", "a/../b?x=1#y", model="flux", width=512, height=512,
                    seed=9, safe=True, enhance=False, private=True)  # fmt: skip
    assert url == (
        "https://img.example/prompt/a%2F..%2Fb%3Fx%3D1%23y?model=flux&width=512"
        "&height=512&seed=9&nologo=true&private=true&enhance=false&safe=true"
    )


# -- image bytes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime"),
    [(PNG, "image/png"), (b"\xff\xd8\xff\xe0rest", "image/jpeg"), (b"GIF89a...", "image/gif"),
     (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"), (b"<html>", None), (b"", None)],
)  # fmt: skip
def test_sniff_image_type(data: bytes, mime: str | None) -> None:
    assert sniff_image_type(data) == mime


def test_data_uris_are_checked_to_be_images() -> None:
    assert decode_data_uri(f"data:image/webp;base64,{B64}") == (PNG, "image/png")
    with pytest.raises(ResponseError, match="not a PNG"):
        decode_data_uri("data:image/png;base64," + base64.b64encode(b"#!/bin/sh").decode())
    with pytest.raises(ResponseError, match="base64"):
        decode_data_uri("data:image/png;base64,@@@")


def test_image_input_forms(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    for given in (PNG, str(path), path, f"data:image/png;base64,{B64}"):
        assert image_input(given, "P") == (PNG, "image/png")
    with path.open("rb") as file:
        assert image_input(file, "P") == (PNG, "image/png")
    for bad in (b"text", 42, str(tmp_path / "missing.png")):
        with pytest.raises(InvalidRequestError):
            image_input(bad, "P")


# -- vision and image models ----------------------------------------------------------------


def test_vision_and_image_helpers() -> None:
    assert OpenAI.supports_vision("gpt-4o")
    assert OpenAI.supports_vision()
    assert not OpenAI.makes_images("gpt-4o")
    assert OpenAI.makes_images("gpt-image-1")
    assert Anthropic.supports_vision("claude-haiku-4-5")
    assert Gemini.supports_vision()
    assert Gemini.makes_images("gemini-2.5-flash-image")
    assert VertexAI.supports_vision("gemini-2.5-pro")
    assert OllamaNative.supports_vision("llava:13b")
    assert not OllamaNative.supports_vision("phi3")
    assert GeminiImages.makes_images()
    assert GeminiImages.makes_images("imagen-4.0-generate-001")
    assert all(p.makes_images() for p in image_providers())
