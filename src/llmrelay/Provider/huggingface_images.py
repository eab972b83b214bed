"""Hugging Face text-to-image inference (`router.huggingface.co/hf-inference`, `HF_TOKEN`):
`POST /models/{model}` answers with the image's bytes; `n` images are `n` requests."""

from __future__ import annotations

import os
import re
from typing import ClassVar

from ..errors import InvalidRequestError, MissingAuthError, ResponseError
from ..protocols.huggingface.images import model_url, text_to_image_body
from ..providers.base_provider import AsyncGeneratorProvider, ProviderModelMixin
from ..providers.image_data import data_uri, read_capped, sniff_image_type
from ..providers.image_params import (
    check_n,
    image_prompt,
    pixels,
    resolve_seed,
)
from ..providers.response import ImageResponse
from ..transport.http import Request, Timeouts, check_max_retries, open_response
from ..typing import AsyncResult, Messages

__all__ = ["HuggingFaceImages"]

_MODEL = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


class HuggingFaceImages(AsyncGeneratorProvider, ProviderModelMixin):
    """Text-to-image models on Hugging Face's inference provider."""

    label = "Hugging Face images"
    url = "https://huggingface.co/docs/inference-providers/tasks/text-to-image"
    api_base: ClassVar[str] = "https://router.huggingface.co/hf-inference"
    api_key_env: ClassVar[str] = "HF_TOKEN"
    working = True
    needs_auth = True
    supports_stream = False
    default_model = "black-forest-labs/FLUX.1-schnell"
    image_models = ("black-forest-labs/FLUX.1-schnell", "black-forest-labs/FLUX.1-dev",
                    "stabilityai/stable-diffusion-xl-base-1.0")  # fmt: skip
    image_parameter_notes: ClassVar[dict[str, str]] = {"n": "one request each"}

    @classmethod
    def get_model(cls, model: str, **kwargs: object) -> str:
        """Any model id of the form `owner/name` (the hub has thousands)."""
        resolved = cls.resolve_model(model, [])
        if not _MODEL.match(resolved):
            raise InvalidRequestError(f"not a model id: {resolved!r}", provider=cls.__name__)
        return resolved

    @classmethod
    async def create_async_generator(  # type: ignore[override]
        cls,
        model: str,
        messages: Messages,
        prompt: str | None = None,
        n: int | None = None,
        size: str | None = None,
        width: int | None = None,
        height: int | None = None,
        aspect_ratio: str | None = None,
        seed: int | None = None,
        randomize_seed: bool | None = None,
        guidance_scale: float | None = None,
        num_inference_steps: int | None = None,
        negative_prompt: str | None = None,
        response_format: str | None = None,
        api_key: str | None = None,
        api_base: str | None = None,
        proxy: str | None = None,
        timeout: float | Timeouts | None = None,
        max_retries: int = 2,
    ) -> AsyncResult:
        name = cls.__name__
        text = image_prompt(prompt, messages)
        count = check_n(n, name, limit=4)
        model = cls.get_model(model)
        dims = pixels(name, size, width, height, aspect_ratio)
        first = resolve_seed(seed, randomize_seed, name, count)
        check_max_retries(max_retries, name)
        key = api_key or os.environ.get(cls.api_key_env)
        if not key:
            raise MissingAuthError(
                f"{name} needs a token: set {cls.api_key_env} or pass api_key=…", provider=name
            )
        url = model_url(api_base or cls.api_base, model)
        images: list[str] = []
        for index in range(count):
            body = text_to_image_body(
                text, width=dims and dims[0], height=dims and dims[1],
                seed=None if first is None else first + index, guidance_scale=guidance_scale,
                num_inference_steps=num_inference_steps, negative_prompt=negative_prompt,
            )  # fmt: skip
            request = Request(
                provider=name, headers={"Authorization": f"Bearer {key}", "Accept": "image/png"},
                json=body, proxy=proxy, timeouts=Timeouts.from_param(timeout),
                max_retries=max_retries, secrets=(key,),
            )  # fmt: skip
            async with open_response("POST", url, request) as response:
                data = await read_capped(response, name)
            mime = sniff_image_type(data)
            if mime is None:
                raise ResponseError(f"{name} answered with something that is not an image",
                                    provider=name)  # fmt: skip
            images.append(data_uri(data, mime))
        yield ImageResponse(images, alt=text)
