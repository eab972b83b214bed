"""The OpenAI Images API (`gpt-image-1`, `dall-e-3`, …) and OpenAI-compatible image endpoints.

`OpenAIImages` talks to OpenAI (`OPENAI_API_KEY`, `OPENAI_BASE_URL`); `images_provider_for(
Together)` is the same provider for an OpenAI-compatible preset (its base URL and key
variable). Yields one `ImageResponse` of URLs or `data:` URIs.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from ..protocols.openai.images import (
    edit_form,
    generation_body,
    image_size,
    parse_images,
    revised_prompts,
)
from ..providers.image_data import image_input
from ..providers.image_params import check_n, check_response_format, image_prompt
from ..providers.response import ImageResponse
from ..transport.http import Request, Timeouts, check_max_retries, open_response, read_json
from ..typing import AsyncResult, Messages
from .openai_compatible import OpenaiTemplate

__all__ = ["OpenAIImages", "images_provider_for"]


class OpenAIImages(OpenaiTemplate):
    """OpenAI's `/v1/images/generations` and `/v1/images/edits`; also takes OpenAI's own
    `quality` and `style` (passed on as given)."""

    label = "OpenAI Images"
    url = "https://platform.openai.com/docs/api-reference/images"
    api_base = "https://api.openai.com/v1"
    api_base_env = "OPENAI_BASE_URL"
    api_key_env = "OPENAI_API_KEY"
    needs_auth = True
    supports_stream = False
    default_model = "gpt-image-1"
    models = ("gpt-image-1", "gpt-image-1-mini", "dall-e-3", "dall-e-2")
    image_models = models
    image_parameter_notes: ClassVar[dict[str, str]] = {
        "aspect_ratio": "to the model's sizes",
        "image": "edits",
    }

    @classmethod
    def get_models(cls, **kwargs: Any) -> list[str]:
        return list(cls.models)

    @classmethod
    async def get_models_async(
        cls,
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: float | None = None,
        proxy: str | None = None,
    ) -> list[str]:
        """The image models (an OpenAI-compatible endpoint's `/models` lists its chat models)."""
        return list(cls.models)

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
        response_format: str | None = None,
        quality: str | None = None,
        style: str | None = None,
        image: Any = None,
        api_key: str | None = None,
        api_base: str | None = None,
        proxy: str | None = None,
        timeout: float | Timeouts | None = None,
        max_retries: int = 2,
    ) -> AsyncResult:
        """Generate (or, with `image`, edit) images for the prompt."""
        name = cls.__name__
        text = image_prompt(prompt, messages)
        count = check_n(n, name)
        model = cls.get_model(model)
        check_response_format(response_format, name)
        wanted = image_size(name, model, size, width, height, aspect_ratio)
        picture = None if image is None else image_input(image, name)
        check_max_retries(max_retries, name)
        base = cls.resolve_api_base(api_base)
        key = cls.resolve_api_key(api_key)
        headers = cls._headers(key, stream=False)
        body = generation_body(model, text, count, wanted, response_format, quality, style)
        options: dict[str, Any] = {"provider": name, "proxy": proxy, "secrets": (key,),
                                   "timeouts": Timeouts.from_param(timeout),
                                   "max_retries": max_retries}  # fmt: skip
        if picture is None:
            url = f"{base}/images/generations"
            request = Request(headers=headers, json=body, **options)
        else:
            url = f"{base}/images/edits"
            form, content_type = edit_form(body, picture)
            request = Request(headers={**headers, "Content-Type": content_type}, body=form,
                              **options)  # fmt: skip
        async with open_response("POST", url, request) as response:
            answer = await read_json(response, request)
        yield ImageResponse(parse_images(answer, name), alt=text,
                            options={"revised_prompts": revised_prompts(answer)})  # fmt: skip


@functools.lru_cache(maxsize=64)
def images_provider_for(template: type[OpenaiTemplate]) -> type[OpenAIImages]:
    """The image provider of an OpenAI-compatible preset: its base URL, key and auth header,
    any model name (the endpoint decides). Made once per preset."""
    if issubclass(template, OpenAIImages):
        return template
    if template.__name__ == "OpenAI":
        return OpenAIImages
    attributes = {
        "__module__": __name__,
        "__doc__": f"The image endpoint of {template.__name__}.",
        "label": f"{template.label} images",
        "url": template.url,
        "api_base": template.api_base,
        "api_base_env": template.api_base_env,
        "api_base_suffix": template.api_base_suffix,
        "api_key_env": template.api_key_env,
        "auth_header": template.auth_header,
        "needs_auth": template.needs_auth,
        "default_model": next(iter(template.image_models), None),
        "models": tuple(template.image_models),
        "image_models": tuple(template.image_models),
    }
    return type(f"{template.__name__}Images", (OpenAIImages,), attributes)
