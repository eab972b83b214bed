"""Typed stream chunks: a provider yields `str` text or one of these (names as in g4f).

Visible chunks (`Reasoning`, `Sources`, media) render with `str()`; hidden ones (`FinishReason`,
`Usage`, `ToolCalls`, `AuthResult`, `JsonConversation`, …) render as "" so code that prints every
chunk shows only text. `concat_chunks` joins the answer text of a stream.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterable, Iterable
from typing import Any

__all__ = [
    "AudioResponse",
    "AuthResult",
    "BaseConversation",
    "DebugResponse",
    "FinishReason",
    "HiddenResponse",
    "ImagePreview",
    "ImageResponse",
    "JsonConversation",
    "JsonMixin",
    "MediaResponse",
    "Parameters",
    "PreviewResponse",
    "ProviderInfo",
    "Reasoning",
    "RequestLogin",
    "ResponseType",
    "Sources",
    "SuggestedFollowups",
    "TitleGeneration",
    "ToolCalls",
    "Usage",
    "VideoResponse",
    "collect_text",
    "concat_chunks",
]


class ResponseType:
    """Base of every typed chunk."""

    def __str__(self) -> str:
        return ""


class HiddenResponse(ResponseType):
    """A chunk that carries data, not text: renders as ""."""


class JsonMixin:
    """Attributes given as keyword arguments; `get_dict()` returns them."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def get_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __getattr__(self, name: str) -> Any:
        # Only called for missing attributes: optional fields read as None, as in g4f.
        if name.startswith("__"):
            raise AttributeError(name)
        return None

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_dict() == self.get_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.get_dict().items())
        return f"{type(self).__name__}({fields})"


class FinishReason(JsonMixin, HiddenResponse):
    """Why generation stopped, in OpenAI's words: stop, length, tool_calls, content_filter."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class ToolCalls(HiddenResponse):
    """Complete tool calls in OpenAI's shape: `[{"id", "type": "function", "function": {…}}]`."""

    def __init__(self, list: list[dict[str, Any]]) -> None:  # `list`: g4f's name
        self.list = list

    def get_list(self) -> list[dict[str, Any]]:
        return self.list

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ToolCalls) and other.list == self.list

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ToolCalls({self.list!r})"


class Usage(JsonMixin, HiddenResponse):
    """Token counts as the provider reported them (OpenAI's field names)."""

    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


class AuthResult(JsonMixin, HiddenResponse):
    """What authentication produced (tokens, headers, `expires_at` in epoch seconds).

    Its repr names the fields but never shows their values: they are credentials.
    """

    def __repr__(self) -> str:
        return f"AuthResult(<{', '.join(self.get_dict())}>)"


class TitleGeneration(HiddenResponse):
    def __init__(self, title: str) -> None:
        self.title = title


class DebugResponse(HiddenResponse):
    def __init__(self, log: str) -> None:
        self.log = log


class Reasoning(ResponseType):
    """Model thinking: a `token` of it, or a `status` line; `signature` lets it be sent back."""

    def __init__(
        self,
        token: str | None = None,
        label: str | None = None,
        status: str | None = None,
        is_thinking: str | None = None,
        signature: str | None = None,
    ) -> None:
        self.token = token
        self.label = label
        self.status = status
        self.is_thinking = is_thinking
        self.signature = signature

    def __str__(self) -> str:
        if self.is_thinking is not None:
            return self.is_thinking
        if self.token is not None:
            return self.token
        if self.status is not None:
            return f"{self.label}: {self.status}\n" if self.label else f"{self.status}\n"
        return ""

    def get_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reasoning) and other.get_dict() == self.get_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Reasoning({self.get_dict()!r})"


class Sources(ResponseType):
    """Citations: a list of `{"url", "title"?}` dicts."""

    def __init__(self, sources: Iterable[dict[str, str] | str]) -> None:
        self.list: list[dict[str, str]] = []
        for source in sources:
            self.add_source(source)

    def add_source(self, source: dict[str, str] | str) -> None:
        entry = {"url": source} if isinstance(source, str) else dict(source)
        url = entry.get("url") or entry.get("link")
        if url:
            entry["url"] = url
            self.list.append(entry)

    def __str__(self) -> str:
        if not self.list:
            return ""
        lines = [
            f"> [{i}] [{s.get('title') or s['url']}]({s['url']})" for i, s in enumerate(self.list)
        ]
        return "\n\n" + "\n".join(lines)


class AudioResponse(ResponseType):
    def __init__(self, data: bytes | str) -> None:
        self.data = data

    def to_uri(self) -> str:
        if isinstance(self.data, str):
            return self.data
        return "data:audio/mpeg;base64," + base64.b64encode(self.data).decode()

    def __str__(self) -> str:
        return f'<audio controls src="{self.to_uri()}"></audio>'


class BaseConversation(ResponseType):
    """Conversation state a provider hands back so the caller can continue it."""


class JsonConversation(BaseConversation, JsonMixin):
    pass


class SuggestedFollowups(HiddenResponse):
    def __init__(self, suggestions: list[str]) -> None:
        self.suggestions = suggestions


class RequestLogin(HiddenResponse):
    """Authentication needs the user: open `login_url`."""

    def __init__(self, label: str, login_url: str) -> None:
        self.label = label
        self.login_url = login_url

    def to_string(self) -> str:
        return f"[Login to {self.label}]({self.login_url})\n\n"


class MediaResponse(ResponseType):
    def __init__(
        self,
        urls: str | list[str],
        alt: str = "",
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.urls = kwargs.get("images", urls)
        self.alt = alt
        self.options = dict(options or {})

    def get(self, key: str) -> Any:
        return self.options.get(key)

    def get_list(self) -> list[str]:
        return [self.urls] if isinstance(self.urls, str) else list(self.urls)


class ImageResponse(MediaResponse):
    """Generated images (URLs or `data:` URIs); renders as Markdown."""

    def __str__(self) -> str:
        images = self.get_list()
        return "\n".join(
            f"![{self.alt if len(images) == 1 else f'#{i + 1} {self.alt}'}]({url})"
            for i, url in enumerate(images)
        )


class VideoResponse(MediaResponse):
    def __str__(self) -> str:
        return "\n".join(f'<video controls src="{url}"></video>' for url in self.get_list())


class ImagePreview(ImageResponse):
    """An image that is not final yet; hidden from text."""

    def __str__(self) -> str:
        return ""


class PreviewResponse(HiddenResponse):
    def __init__(self, data: str) -> None:
        self.data = data


class Parameters(JsonMixin, HiddenResponse):
    pass


class ProviderInfo(JsonMixin, HiddenResponse):
    """Which provider (and model) answered: `name`, `label`, `url`, `model`."""


def concat_chunks(chunks: Iterable[object]) -> str:
    """The answer text of a stream: `str` chunks and rendered media; reasoning and data skipped."""
    return "".join(
        chunk if isinstance(chunk, str) else str(chunk)
        for chunk in chunks
        if isinstance(chunk, str | MediaResponse)
    )


async def collect_text(chunks: AsyncIterable[object]) -> str:
    """`concat_chunks` for an async stream."""
    return concat_chunks([chunk async for chunk in chunks])
