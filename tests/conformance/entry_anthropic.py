"""The Anthropic Messages API (`Anthropic`) against `FakeAnthropic`."""

from __future__ import annotations

from typing import Any

from conformance.harness import Entry
from llmrelay.Provider.anthropic import Anthropic
from support.fake_anthropic import FakeAnthropic


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or [] if b.get("type") == "text")


def _blocks(body: Any) -> list[dict[str, Any]]:
    return [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]]


class AnthropicWire:
    def system(self, body: Any) -> str | None:
        system = body.get("system")
        return None if system is None else _text(system)

    def turns(self, body: Any) -> list[tuple[str, str]]:
        return [(m["role"], _text(m["content"])) for m in body["messages"]]

    def image_count(self, body: Any) -> int:
        return sum(1 for b in _blocks(body) if b.get("type") == "image")

    def tool_names(self, body: Any) -> list[str]:
        return [t["name"] for t in body.get("tools", [])]

    def tool_results(self, body: Any) -> list[tuple[str, str]]:
        return [(b["tool_use_id"], _text(b.get("content", ""))) for b in _blocks(body)
                if b.get("type") == "tool_result"]  # fmt: skip

    def json_schema(self, body: Any) -> Any:
        return ((body.get("output_config") or {}).get("format") or {}).get("schema")


ENTRY = Entry(
    name="anthropic",
    provider=Anthropic,
    model="claude-sonnet-4-5",
    upstream=FakeAnthropic,
    params=lambda fake: {"api_base": fake.base_url, "api_key": "sk-ant-test"},
    wire=AnthropicWire(),
)
