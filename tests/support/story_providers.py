"""Small in-repo providers, one real subclass of each base class, all answering alike.

`compose` is a deterministic "model": the answer depends on the seed, `max_tokens`,
`response_format`, `tools` and `conversation`, so tests can see each parameter take effect.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from llmrelay.errors import MissingAuthError
from llmrelay.providers.base_provider import (
    AbstractProvider,
    AsyncAuthedProvider,
    AsyncGeneratorProvider,
    AsyncProvider,
    ProviderModelMixin,
)
from llmrelay.providers.response import (
    AuthResult,
    FinishReason,
    JsonConversation,
    Parameters,
    RequestLogin,
    ResponseType,
    ToolCalls,
    Usage,
    concat_chunks,
)

VOCABULARY = "the cat sat on a warm mat and dreamed of fish under quiet moon light".split()  # noqa: SIM905
FULL_LENGTH = 12


def compose(
    model: str,
    messages: list[dict[str, Any]],
    *,
    seed: int | None = None,
    max_tokens: int | None = None,
    response_format: dict[str, Any] | None = None,
    conversation: dict[str, Any] | None = None,
    tools: list[dict[str, Any]] | None = None,
    **params: Any,
) -> list[str | ResponseType]:
    """The answer as chunks: Parameters (what was received), text, conversation, usage, end."""
    received = Parameters(model=model, seed=seed, max_tokens=max_tokens, **params)
    prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in messages)
    if tools:
        function = tools[0].get("function")
        name = function.get("name") if isinstance(function, dict) else function
        call = {"id": "call_0", "type": "function", "function": {"name": name, "arguments": "{}"}}
        return [received, ToolCalls([call]), FinishReason("tool_calls")]
    rng = random.Random(seed if seed is not None else 0)
    count = FULL_LENGTH if max_tokens is None else min(FULL_LENGTH, max_tokens)
    words = [rng.choice(VOCABULARY) for _ in range(count)]
    if response_format and response_format.get("type") == "json_object":
        pieces: list[str] = [json.dumps({"story": " ".join(words)})]
    else:
        pieces = [word + " " for word in words[:-1]] + words[-1:]
    chunks: list[str | ResponseType] = [received, *pieces]
    if conversation is not None:
        turn = int(conversation.get("turn", 0)) + 1
        chunks.append(JsonConversation(**{**conversation, "turn": turn}))
    chunks.append(Usage(prompt_tokens=prompt_tokens, completion_tokens=count))
    chunks.append(FinishReason("length" if count < FULL_LENGTH else "stop"))
    return chunks


class StoryModels(ProviderModelMixin):
    default_model = "story-small"
    models = ("text-davinci-003", "story-small")
    model_aliases = {"story": "story-small", "any-story": ("text-davinci-003", "story-small")}


class SyncStory(AbstractProvider, StoryModels):
    """Written as a sync generator."""

    working = True

    @classmethod
    def create_completion(
        cls, model: str, messages: list[dict[str, Any]], stream: bool = False, **kwargs: Any
    ) -> Iterator[str | ResponseType]:
        yield from compose(cls.get_model(model), messages, **kwargs)


class AsyncStory(AsyncProvider, StoryModels):
    """Written as a coroutine returning the whole answer."""

    working = True

    @classmethod
    async def create_async(cls, model: str, messages: list[dict[str, Any]], **kwargs: Any) -> str:
        await asyncio.sleep(0)
        return concat_chunks(compose(cls.get_model(model), messages, **kwargs))


class StreamStory(AsyncGeneratorProvider, StoryModels):
    """Written as an async generator, yielding to the loop between chunks."""

    working = True

    @classmethod
    async def create_async_generator(
        cls, model: str, messages: list[dict[str, Any]], **kwargs: Any
    ) -> AsyncIterator[str | ResponseType]:
        model = cls.get_model(model)
        for chunk in compose(model, messages, **kwargs):
            await asyncio.sleep(0)
            yield chunk


VALID_TOKEN = "token-ok"


class AuthedStory(AsyncAuthedProvider, StoryModels):
    """Needs a token from `on_auth_async`, which first asks the user to log in."""

    working = True
    needs_auth = True

    @classmethod
    async def on_auth_async(cls, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        yield RequestLogin(cls.__name__, "https://login.example/")
        yield AuthResult(token=VALID_TOKEN, expires_at=time.time() + 3600)

    @classmethod
    async def create_authed(  # type: ignore[override]
        cls, model: str, messages: list[dict[str, Any]], auth_result: AuthResult, **kwargs: Any
    ) -> AsyncIterator[str | ResponseType]:
        if auth_result.token != VALID_TOKEN:
            raise MissingAuthError("token refused", status_code=401, provider=cls.__name__)
        for chunk in compose(cls.get_model(model), messages, **kwargs):
            yield chunk


ALL_STORY_PROVIDERS = (SyncStory, AsyncStory, StreamStory, AuthedStory)
