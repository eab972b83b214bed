"""Pollinations' public image API (https://image.pollinations.ai): no key, the keyless default
for images. Each image is one `GET /prompt/{prompt}?…`; the provider downloads it (capped,
checked to be an image) and yields its URL, or a `data:` URI when base64 is asked."""

from __future__ import annotations

from typing import ClassVar

from ..errors import InvalidRequestError
from ..protocols.pollinations.images import image_url
from ..providers.base_provider import AsyncGeneratorProvider, ProviderModelMixin
from ..providers.image_data import data_uri, fetch_image
from ..providers.image_params import (
    check_n,
    check_response_format,
    image_prompt,
    pixels,
    resolve_seed,
)
from ..providers.response import ImageResponse
from ..transport.http import Timeouts, check_max_retries
from ..typing import AsyncResult, Messages

__all__ = ["PollinationsImage"]


class PollinationsImage(AsyncGeneratorProvider, ProviderModelMixin):
    """Pollinations' image API; `n` images are `n` requests with consecutive seeds."""

    label = "Pollinations images"
    url = "https://pollinations.ai"
    api_base: ClassVar[str] = "https://image.pollinations.ai"
    working = True
    needs_auth = False
    supports_stream = False
    default_model = "flux"
    models = ("flux", "turbo", "kontext")
    image_models = models
    image_parameter_notes: ClassVar[dict[str, str]] = {"n": "one request each"}

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
        safe: bool | None = None,
        enhance: bool | None = None,
        private: bool | None = None,
        response_format: str | None = None,
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
        check_response_format(response_format, name)
        check_max_retries(max_retries, name)
        base = api_base or cls.api_base
        if not base.startswith(("http://", "https://")):
            raise InvalidRequestError(f"api_base must be an http(s) URL: {base!r}", provider=name)
        images: list[str] = []
        for index in range(count):
            url = image_url(
                base, text, model=model, width=dims and dims[0], height=dims and dims[1],
                seed=None if first is None else first + index, safe=safe, enhance=enhance,
                private=private,
            )  # fmt: skip
            data, mime = await fetch_image(url, provider=name, proxy=proxy, timeout=timeout,
                                           max_retries=max_retries)  # fmt: skip
            images.append(data_uri(data, mime) if response_format == "b64_json" else url)
        yield ImageResponse(images, alt=text)
