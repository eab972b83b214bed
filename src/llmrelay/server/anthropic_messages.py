"""`POST /v1/messages`: Anthropic's Messages API, answered by any provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..protocols.anthropic import gateway_request, gateway_response
from ..protocols.openai.gateway import ChatRequest
from .chat import Surface
from .failures import Failure

if TYPE_CHECKING:
    from ..client.types import ChatCompletionChunk

__all__ = ["SURFACE"]


def _encoder(request: ChatRequest) -> Callable[[ChatCompletionChunk], bytes]:
    return gateway_response.EventEncoder().encode


def _error_body(failure: Failure) -> dict[str, Any]:
    return gateway_response.error_body(failure.message, failure.anthropic_kind)


def _error_event(failure: Failure) -> bytes:
    return gateway_response.error_event(failure.message, failure.anthropic_kind)


SURFACE = Surface(
    name="anthropic",
    parse=gateway_request.parse_request,
    soft=gateway_request.SOFT,
    answer=gateway_response.message_body,
    encoder=_encoder,
    end=b"",
    error_body=_error_body,
    error_event=_error_event,
)
