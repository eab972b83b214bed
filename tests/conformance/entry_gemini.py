"""The Gemini API (`Gemini`) against `FakeGemini`."""

from __future__ import annotations

from typing import Any

from conformance.harness import Entry
from llmrelay.Provider.gemini import Gemini
from support.fake_gemini import FakeGemini


def _parts(content: dict[str, Any]) -> list[dict[str, Any]]:
    return list(content.get("parts") or [])


class GeminiWire:
    def system(self, body: Any) -> str | None:
        instruction = body.get("systemInstruction")
        return None if instruction is None else "\n".join(p["text"] for p in _parts(instruction))

    def turns(self, body: Any) -> list[tuple[str, str]]:
        turns = []
        for content in body["contents"]:
            role = "assistant" if content["role"] == "model" else "user"
            results = [p["functionResponse"] for p in _parts(content) if "functionResponse" in p]
            turns += [("tool", r["response"]["content"]) for r in results]
            if len(results) < len(_parts(content)):
                turns.append((role, "".join(p.get("text", "") for p in _parts(content))))
        return turns

    def image_count(self, body: Any) -> int:
        return sum(
            1
            for content in body["contents"]
            for part in _parts(content)
            if (part.get("inlineData") or part.get("fileData") or {})
            .get("mimeType", "")
            .startswith("image/")
        )

    def tool_names(self, body: Any) -> list[str]:
        return [d["name"] for t in body.get("tools", []) for d in t.get("functionDeclarations", [])]

    def tool_results(self, body: Any) -> list[tuple[str, str]]:
        """Gemini's requests carry no call ids: a result is matched by function name to the
        calls of the model turn before it, which the provider named `call_<position>`."""
        results, calls = [], []
        for content in body["contents"]:
            names = [p["functionCall"]["name"] for p in _parts(content) if "functionCall" in p]
            if content["role"] == "model":
                calls = names
            for part in _parts(content):
                if "functionResponse" in part:
                    response = part["functionResponse"]
                    call_id = f"call_{calls.index(response['name'])}"
                    results.append((call_id, response["response"]["content"]))
        return results

    def json_schema(self, body: Any) -> Any:
        return (body.get("generationConfig") or {}).get("responseJsonSchema")


ENTRY = Entry(
    name="gemini",
    provider=Gemini,
    model="gemini-2.5-flash",
    upstream=FakeGemini,
    params=lambda fake: {"api_base": fake.base_url, "api_key": "AIza-test-key"},
    wire=GeminiWire(),
)
