"""Hugging Face text-to-image inference, pure translation: the `{"inputs", "parameters"}` body
(as `huggingface_hub.InferenceClient.text_to_image` sends it); the answer is the image bytes."""

from __future__ import annotations

import urllib.parse
from typing import Any

__all__ = ["model_url", "text_to_image_body"]


def model_url(base: str, model: str) -> str:
    """`{base}/models/{owner}/{name}`: each part of the model id percent-encoded."""
    parts = [urllib.parse.quote(part, safe="") for part in model.split("/")]
    return f"{base.rstrip('/')}/models/{'/'.join(parts)}"


def text_to_image_body(
    prompt: str,
    *,
    width: int | None = None,
    height: int | None = None,
    seed: int | None = None,
    guidance_scale: float | None = None,
    num_inference_steps: int | None = None,
    negative_prompt: str | None = None,
) -> dict[str, Any]:
    parameters = {
        "negative_prompt": negative_prompt,
        "height": height,
        "width": width,
        "num_inference_steps": num_inference_steps,
        "guidance_scale": guidance_scale,
        "seed": seed,
    }
    body: dict[str, Any] = {"inputs": prompt}
    given = {k: v for k, v in parameters.items() if v is not None}
    if given:
        body["parameters"] = given
    return body
