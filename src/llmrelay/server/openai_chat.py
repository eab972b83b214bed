"""`POST /v1/chat/completions`: OpenAI's Chat Completions, answered by any provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..protocols.openai import gateway as wire
from ..transport.sse_encode import DONE
from .chat import Surface
from .failures import Failure

if TYPE_CHECKING:
    from ..client.types import ChatCompletionChunk

__all__ = ["SURFACE"]


def _encoder(request: wire.ChatRequest) -> Callable[[ChatCompletionChunk], bytes]:
    return wire.ChunkEncoder(request.include_usage).encode


def _error_body(failure: Failure) -> dict[str, Any]:
    return wire.error_body(failure.message, failure.kind, failure.param, failure.code)


def _error_event(failure: Failure) -> bytes:
    return wire.error_event(failure.message, failure.kind)


SURFACE = Surface(
    name="openai",
    parse=wire.parse_request,
    soft=wire.SOFT,
    answer=wire.completion_body,
    encoder=_encoder,
    end=DONE,
    error_body=_error_body,
    error_event=_error_event,
)
