"""Google's image models through the Gemini API, pure translation: Imagen's `:predict`
(`{"instances": [{"prompt"}], "parameters": {…}}` → `predictions[].bytesBase64Encoded`) and
Gemini image output through `:generateContent` (`responseModalities: ["TEXT", "IMAGE"]` →
`inlineData` parts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ContentFilterError, ResponseError
from ...providers.image_data import decode_data_uri

__all__ = [
    "GEMINI_RATIOS",
    "IMAGEN_RATIOS",
    "content_body",
    "is_imagen",
    "parse_content",
    "parse_predictions",
    "predict_body",
]

IMAGEN_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
GEMINI_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")


def is_imagen(model: str) -> bool:
    return model.startswith("imagen")


def predict_body(
    prompt: str, n: int, aspect_ratio: str | None, guidance_scale: float | None
) -> dict[str, Any]:
    parameters: dict[str, Any] = {"sampleCount": n}
    if aspect_ratio:
        parameters["aspectRatio"] = aspect_ratio
    if guidance_scale is not None:
        parameters["guidanceScale"] = guidance_scale
    return {"instances": [{"prompt": prompt}], "parameters": parameters}


def content_body(
    prompt: str, aspect_ratio: str | None, image: tuple[str, str] | None = None
) -> dict[str, Any]:
    """`image`: (mime type, base64) of a picture to edit, sent before the prompt."""
    parts: list[dict[str, Any]] = []
    if image is not None:
        parts.append({"inlineData": {"mimeType": image[0], "data": image[1]}})
    parts.append({"text": prompt})
    config: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    if aspect_ratio:
        config["imageConfig"] = {"aspectRatio": aspect_ratio}
    return {"contents": [{"role": "user", "parts": parts}], "generationConfig": config}


def _uri(mime: Any, data: Any, provider: str) -> str:
    if not isinstance(data, str):
        raise ResponseError("an image in the answer has no base64 data", provider=provider)
    _, real = decode_data_uri(f"data:image/png;base64,{data}", provider)
    return f"data:{real};base64,{data}"


def parse_predictions(body: Any, provider: str) -> list[str]:
    """The `data:` URIs of Imagen's predictions; none at all means every image was filtered."""
    predictions = body.get("predictions") if isinstance(body, Mapping) else None
    images = [
        _uri(p.get("mimeType"), p["bytesBase64Encoded"], provider)
        for p in predictions or []
        if isinstance(p, Mapping) and "bytesBase64Encoded" in p
    ]
    if not images:
        raise ContentFilterError("Imagen returned no image (filtered)", provider=provider)
    return images


def parse_content(body: Any, provider: str) -> tuple[list[str], str]:
    """The `data:` URIs of the answer's inline images and its text."""
    if not isinstance(body, Mapping):
        raise ResponseError("the answer is not a JSON object", provider=provider)
    feedback = body.get("promptFeedback")
    if isinstance(feedback, Mapping) and feedback.get("blockReason"):
        raise ContentFilterError(f"prompt blocked: {feedback['blockReason']}", provider=provider)
    images: list[str] = []
    text: list[str] = []
    for candidate in body.get("candidates") or []:
        content = candidate.get("content") if isinstance(candidate, Mapping) else None
        for part in (content or {}).get("parts") or []:
            blob = part.get("inlineData") if isinstance(part, Mapping) else None
            if isinstance(blob, Mapping):
                images.append(_uri(blob.get("mimeType"), blob.get("data"), provider))
            elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
                text.append(part["text"])
    return images, "".join(text)
