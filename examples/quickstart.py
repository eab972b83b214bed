"""A provider written once, as g4f users write one, used through the OpenAI-shaped client and
every g4f entry point. (Real providers: `llmrelay.Provider.OpenAI`, `.Groq`, `.LlamaCpp`, …)

.venv/bin/python examples/quickstart.py
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import llmrelay
from llmrelay.providers.base_provider import AsyncGeneratorProvider, ProviderModelMixin
from llmrelay.providers.response import FinishReason, Usage


class Echo(AsyncGeneratorProvider, ProviderModelMixin):
    """Answers with the last user message, word by word."""

    working = True
    default_model = "echo-1"
    models = ("echo-1",)
    model_aliases = {"echo": "echo-1"}

    @classmethod
    async def create_async_generator(
        cls, model: str, messages: list[dict[str, Any]], proxy: str | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        cls.get_model(model)
        words = str(messages[-1]["content"]).split()
        for i, word in enumerate(words):
            await asyncio.sleep(0)
            yield word if i == 0 else " " + word
        yield Usage(prompt_tokens=len(words), completion_tokens=len(words))
        yield FinishReason("stop")


MESSAGES = [{"role": "user", "content": "Hello from llmrelay"}]


async def main_async() -> None:
    print("async:     ", await Echo.create_async("echo", MESSAGES))
    stream = llmrelay.ChatCompletion.create_async("echo", MESSAGES, provider=Echo, stream=True)
    print("async for: ", [c async for c in stream if isinstance(c, str)])  # type: ignore[union-attr]


def main() -> None:
    client = llmrelay.Client(provider=Echo)
    completion = client.chat.completions.create(model="echo", messages=MESSAGES)
    print("client:    ", completion.choices[0].message.content, completion.usage)
    print(Echo.params)
    print("sync:      ", llmrelay.ChatCompletion.create("echo", MESSAGES, provider=Echo))
    for chunk in Echo.create_completion("echo", MESSAGES):
        print("chunk:     ", repr(chunk))
    print("last_model:", Echo.last_model)
    asyncio.run(main_async())


if __name__ == "__main__":
    main()
