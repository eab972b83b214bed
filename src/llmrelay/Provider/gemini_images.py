"""Google's image models through the Gemini API (`GEMINI_API_KEY`): Imagen models by
`:predict`, Gemini image models (`gemini-2.5-flash-image`, …) by `:generateContent` with image
output; the latter also edit an image given with `image=`."""

from __future__ import annotations

import base64
from typing import Any, ClassVar

from ..errors import NoMediaResponseError
from ..protocols.gemini.images import (
    GEMINI_RATIOS,
    IMAGEN_RATIOS,
    content_body,
    is_imagen,
    parse_content,
    parse_predictions,
    predict_body,
)
from ..protocols.gemini.upstream_request import model_path
from ..providers.image_data import image_input
from ..providers.image_params import (
    check_n,
    check_response_format,
    closest_ratio,
    image_prompt,
    refuse,
)
from ..providers.response import ImageResponse
from ..transport.http import Request, Timeouts, check_max_retries, open_response, read_json
from ..typing import AsyncResult, Messages
from .gemini import Gemini

__all__ = ["GeminiImages"]


class GeminiImages(Gemini):
    """Imagen and Gemini image output on the Gemini API."""

    label = "Google Gemini API images"
    supports_stream = False
    default_model = "gemini-2.5-flash-image"
    models = ()
    image_models = ("gemini-2.5-flash-image", "imagen-4.0-generate-001",
                    "imagen-4.0-fast-generate-001", "imagen-4.0-ultra-generate-001")  # fmt: skip
    vision_models = ("gemini-2.5-flash-image",)
    image_parameter_notes: ClassVar[dict[str, str]] = {
        "n": "Imagen; 1 for Gemini",
        "guidance_scale": "Imagen",
        "image": "Gemini models: edits",
        "aspect_ratio": "to the API's ratios",
    }

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
        guidance_scale: float | None = None,
        image: Any = None,
        response_format: str | None = None,
        api_key: str | None = None,
        api_base: str | None = None,
        proxy: str | None = None,
        timeout: float | Timeouts | None = None,
        max_retries: int = 2,
    ) -> AsyncResult:
        name = cls.__name__
        text = image_prompt(prompt, messages)
        model = cls.get_model(model)
        imagen = is_imagen(model)
        count = check_n(n, name, limit=4 if imagen else 1)
        ratio = closest_ratio(name, IMAGEN_RATIOS if imagen else GEMINI_RATIOS, size, width,
                              height, aspect_ratio)  # fmt: skip
        check_response_format(response_format, name)
        if imagen and image is not None:
            raise refuse("image", name, f"{model} does not edit images on the Gemini API")
        if not imagen and guidance_scale is not None:
            raise refuse("guidance_scale", name, f"{model} has no guidance scale")
        picture = None if image is None else image_input(image, name)
        check_max_retries(max_retries, name)
        key = cls.resolve_api_key(api_key)
        base = cls.resolve_api_base(api_base)
        if imagen:
            url = f"{base}/{model_path(model)}:predict"
            body = predict_body(text, count, ratio, guidance_scale)
        else:
            url = f"{base}/{model_path(model)}:generateContent"
            given = None if picture is None else (picture[1], base64.b64encode(picture[0]).decode())
            body = content_body(text, ratio, given)
        request = Request(
            provider=name, headers={"x-goog-api-key": key}, json=body, proxy=proxy,
            timeouts=Timeouts.from_param(timeout), max_retries=max_retries, secrets=(key,),
        )  # fmt: skip
        async with open_response("POST", url, request) as response:
            answer = await read_json(response, request)
        if imagen:
            images = parse_predictions(answer, name)
        else:
            images, said = parse_content(answer, name)
            if not images:
                raise NoMediaResponseError(
                    f"{model} answered without an image: {said[:200]!r}", provider=name
                )
        yield ImageResponse(images, alt=text)
