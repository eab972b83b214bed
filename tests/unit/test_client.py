"""Client / AsyncClient over in-repo providers: shapes, streaming both ways, conversation,
provider choice from the model registry."""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmrelay
from llmrelay.client import AsyncClient, AsyncStream, Client
from llmrelay.client.types import ChatCompletion, ChatCompletionChunk
from llmrelay.errors import (
    InvalidMessagesError,
    InvalidRequestError,
    MissingAuthError,
    ModelNotFoundError,
    NoMediaResponseError,
)
from llmrelay.providers.response import concat_chunks
from support.story_providers import AsyncStory, StreamStory, compose

MESSAGES = [{"role": "user", "content": "tell me a story"}]
STORY = concat_chunks(compose("story-small", MESSAGES))


def test_completion_has_the_openai_shape() -> None:
    completion = Client(provider=StreamStory).chat.completions.create(
        model="story", messages=MESSAGES
    )
    assert isinstance(completion, ChatCompletion)
    assert completion.choices[0].message.content == STORY
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "story-small"  # the provider's resolved model
    assert completion.provider == "StreamStory"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 12
    assert completion.id.startswith("chatcmpl-")
    dumped = completion.model_dump()
    assert dumped["object"] == "chat.completion"
    assert dumped["choices"][0]["message"]["content"] == STORY
    assert json.loads(completion.to_json()) == json.loads(json.dumps(dumped, default=str))


def test_g4f_positional_order() -> None:
    completion = Client(provider=StreamStory).chat.completions.create(MESSAGES, "story")
    assert completion.choices[0].message.content == STORY  # type: ignore[union-attr]


def test_sync_stream_chunks_always_have_a_choice() -> None:
    chunks = list(
        Client(provider=StreamStory).chat.completions.create(  # type: ignore[arg-type]
            model="", messages=MESSAGES, stream=True
        )
    )
    assert all(isinstance(c, ChatCompletionChunk) and c.choices for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == STORY
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.usage is not None
    assert last.usage.completion_tokens == 12


def test_include_usage_adds_openais_last_chunk() -> None:
    chunks = list(
        Client(provider=StreamStory).chat.completions.create(  # type: ignore[arg-type]
            model="", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None


async def test_async_stream_openai_way_and_g4f_way() -> None:
    client = AsyncClient(provider=StreamStory)
    stream = await client.chat.completions.create(model="", messages=MESSAGES, stream=True)  # type: ignore[misc]
    assert isinstance(stream, AsyncStream)
    openai_way = [c.choices[0].delta.content or "" async for c in stream]
    g4f_way = [
        c.choices[0].delta.content or ""
        async for c in client.chat.completions.create(model="", messages=MESSAGES, stream=True)  # type: ignore[union-attr]
    ]
    assert "".join(openai_way) == "".join(g4f_way) == STORY


async def test_non_streaming_provider_still_streams_one_chunk() -> None:
    client = AsyncClient(provider=AsyncStory)
    completion = await client.chat.completions.create(model="", messages=MESSAGES)  # type: ignore[misc]
    assert completion.choices[0].message.content == STORY


def test_parameters_reach_the_provider() -> None:
    completion = Client(provider=StreamStory).chat.completions.create(
        model="", messages=MESSAGES, seed=5, max_tokens=3
    )
    expected = concat_chunks(compose("story-small", MESSAGES, seed=5, max_tokens=3))
    assert completion.choices[0].message.content == expected  # type: ignore[union-attr]
    assert completion.choices[0].finish_reason == "length"  # type: ignore[union-attr]


def test_tool_calls_surface_like_openais() -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    completion = Client(provider=StreamStory).chat.completions.create(
        model="", messages=MESSAGES, tools=tools
    )
    choice = completion.choices[0]  # type: ignore[union-attr]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    assert choice.message.tool_calls[0].function.name == "get_weather"
    assert choice.message.tool_calls[0].function.arguments == "{}"


def test_client_side_conversation_history() -> None:
    client = Client(provider=StreamStory)
    first = client.chat.completions.create(model="", messages=MESSAGES)
    assert first.conversation.messages == [  # type: ignore[union-attr]
        *MESSAGES,
        {"role": "assistant", "content": STORY},
    ]
    follow_up = [{"role": "user", "content": "and then?"}]
    second = client.chat.completions.create(
        model="",
        messages=follow_up,
        conversation=first.conversation,  # type: ignore[union-attr]
    )
    history = second.conversation.messages  # type: ignore[union-attr]
    assert history[:3] == [*MESSAGES, {"role": "assistant", "content": STORY}, *follow_up]
    # The provider saw the whole history: its prompt count covers all three messages.
    assert (
        second.usage.prompt_tokens
        == sum(  # type: ignore[union-attr]
            len(m["content"].split()) for m in history[:3]
        )
    )


class Stateful(StreamStory):
    """Keeps the conversation on its side: declares `conversation` and hands state back."""

    @classmethod
    async def create_async_generator(  # type: ignore[override]
        cls, model: str, messages: Any, conversation: Any = None, **kwargs: Any
    ) -> Any:
        state = conversation.get_dict() if conversation is not None else {"id": "c-1"}
        async for chunk in super().create_async_generator(
            model, messages, conversation=state, **kwargs
        ):
            yield chunk


def test_server_side_conversation_round_trips() -> None:
    client = Client(provider=Stateful)
    first = client.chat.completions.create(model="", messages=MESSAGES)
    assert first.conversation.get_dict() == {"id": "c-1", "turn": 1}  # type: ignore[union-attr]
    second = client.chat.completions.create(
        model="",
        messages=MESSAGES,
        conversation=first.conversation,  # type: ignore[union-attr]
    )
    assert second.conversation.get_dict() == {"id": "c-1", "turn": 2}  # type: ignore[union-attr]
    # Only the new messages were sent: the provider holds the history.
    assert second.usage.prompt_tokens == len(MESSAGES[0]["content"].split())  # type: ignore[union-attr]


def test_invalid_input_fails_before_any_work() -> None:
    client = Client(provider=StreamStory)
    with pytest.raises(InvalidMessagesError, match="missing 'role'"):
        client.chat.completions.create(model="", messages=[{"content": "x"}])
    with pytest.raises(InvalidRequestError, match="needs messages"):
        client.chat.completions.create(model="x")
    with pytest.raises(InvalidRequestError, match="model must be a string"):
        client.chat.completions.create(model=3, messages=MESSAGES)  # type: ignore[arg-type]
    with pytest.raises(ModelNotFoundError, match="StreamStory"):
        client.chat.completions.create(model="gpt-9", messages=MESSAGES)


def test_unknown_model_without_provider_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelNotFoundError, match="pass provider="):
        Client().chat.completions.create(model="my-private-model", messages=MESSAGES)


def test_known_model_without_any_key_names_the_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("GROQ_API_KEY", "CEREBRAS_API_KEY", "TOGETHER_API_KEY", "DEEPINFRA_API_KEY",
                     "FIREWORKS_API_KEY", "OPENROUTER_API_KEY"):  # fmt: skip
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(MissingAuthError, match="GROQ_API_KEY") as info:
        Client().chat.completions.create(model="llama-3.3-70b", messages=MESSAGES)
    assert "OPENROUTER_API_KEY" in str(info.value)


async def test_model_registry_picks_configured_providers_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llmrelay.providers.routing import providers_for_model

    for variable in ("GROQ_API_KEY", "CEREBRAS_API_KEY", "TOGETHER_API_KEY", "DEEPINFRA_API_KEY",
                     "FIREWORKS_API_KEY", "OPENROUTER_API_KEY"):  # fmt: skip
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OPENROUTER_API_KEY", "k1")
    monkeypatch.setenv("CEREBRAS_API_KEY", "k2")
    names = [p.__name__ for p in await providers_for_model("llama-3.3-70b")]
    assert names == ["Cerebras", "OpenRouter"]
    assert llmrelay.Provider.OpenRouter.get_model("llama-3.3-70b") == (
        "meta-llama/llama-3.3-70b-instruct"
    )
    assert llmrelay.models.llama_3_3_70b.providers[0] == "Groq"


def test_models_list_without_a_provider_lists_routable_models() -> None:
    names = [m.id for m in Client().models.list()]
    assert "gpt-4o-mini" in names
    assert "llama-3.3-70b" in names


def test_images_need_an_image_provider() -> None:
    with pytest.raises(NoMediaResponseError, match="made no image"):
        Client(image_provider=StreamStory).images.generate("a cat")


def test_tool_call_extra_content_survives_the_round_trip() -> None:
    class Signed(StreamStory):
        @classmethod
        async def create_async_generator(  # type: ignore[override]
            cls, model: str, messages: Any, **kwargs: Any
        ) -> Any:
            from llmrelay.providers.response import ToolCalls

            call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"},
                    "extra_content": {"google": {"thought_signature": "sig"}}}  # fmt: skip
            yield ToolCalls([call])

    completion = Client(provider=Signed).chat.completions.create(model="", messages=MESSAGES)
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[union-attr,index]
    assert call.extra_content == {"google": {"thought_signature": "sig"}}
    sent_back = completion.conversation.messages[-1]["tool_calls"][0]  # type: ignore[union-attr]
    assert sent_back["extra_content"] == {"google": {"thought_signature": "sig"}}
