"""Pollinations' public image API, pure translation: the `GET /prompt/{prompt}?…` URL."""

from __future__ import annotations

import urllib.parse

__all__ = ["image_url"]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def image_url(
    base: str,
    prompt: str,
    *,
    model: str,
    width: int | None = None,
    height: int | None = None,
    seed: int | None = None,
    safe: bool | None = None,
    enhance: bool | None = None,
    private: bool | None = None,
) -> str:
    """The image's URL: the prompt as one percent-encoded path segment (a `/` or `?` in it
    cannot change the path or the query), the parameters in the query; `nologo=true`."""
    query: dict[str, str] = {"model": model}
    if width is not None:
        query["width"] = str(width)
    if height is not None:
        query["height"] = str(height)
    if seed is not None:
        query["seed"] = str(seed)
    query["nologo"] = "true"
    for name, value in (("private", private), ("enhance", enhance), ("safe", safe)):
        if value is not None:
            query[name] = _flag(value)
    path = urllib.parse.quote(prompt, safe="")
    return f"{base.rstrip('/')}/prompt/{path}?{urllib.parse.urlencode(query)}"
