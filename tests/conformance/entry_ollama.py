"""Ollama's native chat API (`OllamaNative`) against `FakeOllama`."""

from __future__ import annotations

from typing import Any

from conformance.harness import Entry
from llmrelay.Provider.ollama_native import OllamaNative
from support.fake_ollama import FakeOllama


class OllamaWire:
    def system(self, body: Any) -> str | None:
        texts = [m["content"] for m in body["messages"] if m["role"] == "system"]
        return "\n".join(texts) if texts else None

    def turns(self, body: Any) -> list[tuple[str, str]]:
        return [(m["role"], m["content"]) for m in body["messages"] if m["role"] != "system"]

    def image_count(self, body: Any) -> int:
        return sum(len(m.get("images", [])) for m in body["messages"])

    def tool_names(self, body: Any) -> list[str]:
        return [t["function"]["name"] for t in body.get("tools", [])]

    def tool_results(self, body: Any) -> list[tuple[str, str]]:
        return [(m["tool_call_id"], m["content"]) for m in body["messages"]
                if m["role"] == "tool"]  # fmt: skip

    def json_schema(self, body: Any) -> Any:
        fmt = body.get("format")
        return fmt if isinstance(fmt, dict) else None


ENTRY = Entry(
    name="ollama",
    provider=OllamaNative,
    model="llama3.2",
    upstream=FakeOllama,
    params=lambda fake: {"api_base": fake.base_url},
    wire=OllamaWire(),
    image_urls=False,
)
