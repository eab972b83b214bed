"""Type aliases shared by providers, the client and the gateway (names as in g4f's `typing`)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import IO, TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from .providers.response import ResponseType

#: One chat message: `role`, `content` and the optional keys listed in `providers.messages`.
Message: TypeAlias = dict[str, Any]
Messages: TypeAlias = list[Message]

#: What a stream yields: plain text, or a typed chunk (`FinishReason`, `Usage`, `ToolCalls`, …).
Chunk: TypeAlias = "str | ResponseType"
CreateResult: TypeAlias = "Iterator[str | ResponseType]"
AsyncResult: TypeAlias = "AsyncIterator[str | ResponseType]"

#: A media item: bytes, a path, a `data:` URI or an http(s) URL, or an open binary file.
MediaType: TypeAlias = str | bytes | os.PathLike[str] | IO[bytes]
#: Media with an optional file name each, as g4f passes them: `[(data, "cat.jpg"), …]`.
MediaListType: TypeAlias = list[tuple[MediaType, str | None]]

__all__ = [
    "AsyncResult",
    "Chunk",
    "CreateResult",
    "MediaListType",
    "MediaType",
    "Message",
    "Messages",
]
