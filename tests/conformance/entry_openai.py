"""OpenAI Chat Completions (`OpenaiTemplate` and every preset) against `FakeOpenAI`."""

from __future__ import annotations

from typing import Any

from conformance.harness import Entry
from llmrelay.Provider import OpenaiTemplate
from support.fake_openai import FakeOpenAI


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or [] if p.get("type") == "text")


class OpenAIWire:
    def system(self, body: Any) -> str | None:
        texts = [_text(m["content"]) for m in body["messages"] if m["role"] == "system"]
        return "\n".join(texts) if texts else None

    def turns(self, body: Any) -> list[tuple[str, str]]:
        return [(m["role"], _text(m.get("content"))) for m in body["messages"]
                if m["role"] != "system"]  # fmt: skip

    def image_count(self, body: Any) -> int:
        return sum(
            1
            for m in body["messages"]
            if isinstance(m.get("content"), list)
            for p in m["content"]
            if p.get("type") == "image_url"
        )

    def tool_names(self, body: Any) -> list[str]:
        return [t["function"]["name"] for t in body.get("tools", [])]

    def tool_results(self, body: Any) -> list[tuple[str, str]]:
        return [(m["tool_call_id"], _text(m["content"])) for m in body["messages"]
                if m["role"] == "tool"]  # fmt: skip

    def json_schema(self, body: Any) -> Any:
        response_format = body.get("response_format") or {}
        return (response_format.get("json_schema") or {}).get("schema")


ENTRY = Entry(
    name="openai",
    provider=OpenaiTemplate,
    model="gpt-4o-mini",
    upstream=FakeOpenAI,
    params=lambda fake: {"api_base": fake.base_url, "api_key": "sk-test"},
    wire=OpenAIWire(),
)
