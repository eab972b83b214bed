"""The Gemini wire format, byte by byte: requests built from our messages, answers parsed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay.errors import (
    IncompleteResponseError,
    InvalidMessagesError,
    InvalidRequestError,
    ResponseError,
)
from llmrelay.protocols.gemini.upstream_request import SKIP_SIGNATURE, build_payload, model_path
from llmrelay.protocols.gemini.upstream_response import ResponseParser, usage_chunk
from llmrelay.providers.media import load_media
from llmrelay.providers.response import (
    FinishReason,
    ImageResponse,
    Reasoning,
    Sources,
    ToolCalls,
    Usage,
)

USER = [{"role": "user", "content": "Hi"}]
CALL = {"id": "call_0", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}  # fmt: skip
TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                   "properties": {"city": {"type": "string"}}, "required": ["city"],
                   "additionalProperties": False}}}  # fmt: skip


def payload(messages: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return build_payload(options.pop("model", "gemini-2.5-flash"), messages, **options)


# -- requests ---------------------------------------------------------------------------------


def test_roles_system_and_merging() -> None:
    body = payload([
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "No emoji."}]},
        {"role": "user", "content": "One?"},
        {"role": "user", "content": [{"type": "text", "text": "Two?"}]},
        {"role": "assistant", "content": "Three."},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "Four?"},
    ])  # fmt: skip
    assert body == {
        "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "No emoji."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "One?"}, {"text": "Two?"}]},
            {"role": "model", "parts": [{"text": "Three."}]},
            {"role": "user", "parts": [{"text": "Four?"}]},
        ],
    }


def test_only_a_system_message_is_refused() -> None:
    with pytest.raises(InvalidMessagesError, match="at least one user"):
        payload([{"role": "system", "content": "x"}])


def test_images_inline_and_by_url() -> None:
    body = payload(
        [{"role": "user", "content": [
            {"type": "text", "text": "What?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://img.example/cat.webp?x=1"}},
            {"type": "image_url", "image_url": {"url": "gs://bucket/dog"}},
        ]}],
        media=load_media([(b"\xff\xd8\xff\xe0rest", "a.jpg"), ("https://img.example/b.png", None)]),
    )  # fmt: skip
    assert body["contents"][0]["parts"] == [
        {"text": "What?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"mimeType": "image/webp", "fileUri": "https://img.example/cat.webp?x=1"}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://bucket/dog"}},
        {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4HJlc3Q="}},
        {"fileData": {"mimeType": "image/png", "fileUri": "https://img.example/b.png"}},
    ]


def test_media_goes_to_the_last_user_message() -> None:
    messages = [
        *USER,
        {"role": "assistant", "content": "Yes?"},
        {"role": "user", "content": "This"},
    ]
    body = payload(messages, media=load_media([(b"GIF89a..", "x.gif")]))
    assert [len(c["parts"]) for c in body["contents"]] == [1, 1, 2]


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": "ftp://x/y.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/png,notbase64"}},
        {"type": "file", "file": {"file_id": "file-abc"}},
    ],
)
def test_unsendable_parts_are_refused(part: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        payload([{"role": "user", "content": [part]}])


def test_audio_and_inline_files() -> None:
    body = payload([{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE"}},
    ]}])  # fmt: skip
    assert body["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}},
    ]


def test_tools_tool_choice_and_schema_cleanup() -> None:
    body = payload(USER, tools=[TOOL], tool_choice="required")
    declaration = body["tools"][0]["functionDeclarations"][0]
    assert declaration == {
        "name": "get_weather",
        "description": "Weather for a city",
        "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}},
                                 "required": ["city"], "additionalProperties": False},
    }  # fmt: skip
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert payload(USER, tools=[TOOL], tool_choice=named)["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }
    assert payload(USER, tool_choice="none")["toolConfig"]["functionCallingConfig"] == {
        "mode": "NONE"
    }
    for bad in ("sometimes", {"type": "function"}):
        with pytest.raises(InvalidRequestError, match="tool_choice"):
            payload(USER, tool_choice=bad)
    for tools in ([{"type": "web_search"}], "get_weather", [{"type": "function", "function": {}}]):
        with pytest.raises(InvalidRequestError, match="tools"):
            payload(USER, tools=tools)


def test_web_search_adds_google_search() -> None:
    assert payload(USER, web_search=True)["tools"] == [{"googleSearch": {}}]
    assert payload(USER, tools=[TOOL], web_search=True)["tools"][1] == {"googleSearch": {}}


def test_tool_calls_and_results_by_name() -> None:
    other = {"id": "call_1", "type": "function", "function": {"name": "get_time", "arguments": ""}}
    body = payload([
        *USER,
        {"role": "assistant", "content": "Looking.", "tool_calls": [CALL, other]},
        {"role": "tool", "tool_call_id": "call_1", "content": "noon"},
        {"role": "tool", "tool_call_id": "call_0", "content": [{"type": "text", "text": "Sunny"}]},
        {"role": "user", "content": "Thanks"},
    ])  # fmt: skip
    assert body["contents"][1:] == [
        {"role": "model", "parts": [
            {"text": "Looking."},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"functionCall": {"name": "get_time", "args": {}}},
        ]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_time", "response": {"content": "noon"}}},
            {"functionResponse": {"name": "get_weather", "response": {"content": "Sunny"}}},
        ]},
        {"role": "user", "parts": [{"text": "Thanks"}]},
    ]  # fmt: skip
    sent = [p.get("functionCall") or p.get("functionResponse") for c in body["contents"]
            for p in c["parts"]]  # fmt: skip
    assert not any("id" in p for p in sent if p)  # several endpoints refuse ids


def test_repeated_call_ids_resolve_to_the_latest_assistant_turn() -> None:
    again = {**CALL, "function": {"name": "get_time", "arguments": "{}"}}
    body = payload([
        *USER, {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_0", "content": "Sunny"},
        {"role": "assistant", "content": None, "tool_calls": [again]},
        {"role": "tool", "tool_call_id": "call_0", "content": "noon"},
    ])  # fmt: skip
    names = [p["functionResponse"]["name"] for c in body["contents"] for p in c["parts"]
             if "functionResponse" in p]  # fmt: skip
    assert names == ["get_weather", "get_time"]


def test_tool_results_need_a_known_call() -> None:
    with pytest.raises(InvalidMessagesError, match="call_9"):
        payload([*USER, {"role": "tool", "tool_call_id": "call_9", "content": "x"}])
    legacy = payload([*USER, {"role": "function", "name": "f", "content": "1"}])
    assert legacy["contents"][1]["parts"][0]["functionResponse"]["name"] == "f"


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]"])
def test_bad_call_arguments_are_refused(arguments: str) -> None:
    call = {**CALL, "function": {"name": "f", "arguments": arguments}}
    with pytest.raises(InvalidMessagesError, match="arguments"):
        payload([*USER, {"role": "assistant", "content": None, "tool_calls": [call]}])


def test_thought_signatures_go_back_where_they_came_from() -> None:
    signed = {**CALL, "extra_content": {"google": {"thought_signature": "c2lnLWNhbGw="}}}
    body = payload([*USER, {"role": "assistant", "content": None, "tool_calls": [signed, CALL]}])
    assert [p.get("thoughtSignature") for p in body["contents"][1]["parts"]] == [
        "c2lnLWNhbGw=",
        None,
    ]
    text = {"role": "assistant", "content": "Hi.", "reasoning": {"signature": "c2lnLXRleHQ="}}
    assert payload([*USER, text])["contents"][1]["parts"] == [
        {"text": "Hi.", "thoughtSignature": "c2lnLXRleHQ="}
    ]


def test_gemini_3_history_without_signature_gets_the_documented_stand_in() -> None:
    history = [*USER, {"role": "assistant", "content": None, "tool_calls": [CALL, CALL]}]
    parts = payload(history, model="gemini-3-pro-preview")["contents"][1]["parts"]
    assert [p.get("thoughtSignature") for p in parts] == [SKIP_SIGNATURE, None]
    assert "thoughtSignature" not in json.dumps(payload(history))  # gemini-2.5: untouched


def test_generation_config() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    body = payload(
        USER, temperature=0.2, top_p=0.9, top_k=40, max_tokens=100, stop="END", seed=7,
        thinking_budget=1024,
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
    )  # fmt: skip
    assert body["generationConfig"] == {
        "temperature": 0.2, "topP": 0.9, "topK": 40, "maxOutputTokens": 100, "seed": 7,
        "stopSequences": ["END"], "responseMimeType": "application/json",
        "responseJsonSchema": schema,
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True},
    }  # fmt: skip
    config = payload(USER, response_format={"type": "json_object"}, thinking_budget=0)
    assert config["generationConfig"] == {
        "responseMimeType": "application/json",
        "thinkingConfig": {"thinkingBudget": 0},
    }
    assert "generationConfig" not in payload(USER, response_format={"type": "text"})
    for bad in ({"type": "xml"}, {"type": "json_schema", "json_schema": {"name": "x"}}):
        with pytest.raises(InvalidRequestError, match="response_format"):
            payload(USER, response_format=bad)
    with pytest.raises(InvalidRequestError, match="thinking_budget"):
        payload(USER, thinking_budget="high")


@pytest.mark.parametrize(
    ("model", "path"),
    [("gemini-2.5-flash", "models/gemini-2.5-flash"), ("models/gemini-pro", "models/gemini-pro"),
     ("tunedModels/my-model-1", "tunedModels/my-model-1")],
)  # fmt: skip
def test_model_path(model: str, path: str) -> None:
    assert model_path(model) == path


@pytest.mark.parametrize("model", ["../files/x", "gemini?key=1", "a/b", "", "gemini#x"])
def test_model_names_that_could_alter_the_url_are_refused(model: str) -> None:
    with pytest.raises(InvalidRequestError):
        model_path(model)


# -- answers ----------------------------------------------------------------------------------


def event(*parts: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], **extra}


def run(*events: dict[str, Any], whole: bool = False) -> list[Any]:
    parser = ResponseParser(provider="Gemini")
    chunks = [c for e in events for c in parser.feed(e)]
    return chunks + parser.close(whole=whole)


def test_text_thoughts_signatures_and_usage() -> None:
    meta = {"promptTokenCount": 5, "candidatesTokenCount": 3, "thoughtsTokenCount": 4,
            "cachedContentTokenCount": 2, "toolUsePromptTokenCount": 1,
            "totalTokenCount": 13}  # fmt: skip
    chunks = run(
        event({"text": "Hmm", "thought": True}),
        event({"text": "Hello", "thoughtSignature": "c2ln"}, usageMetadata={"promptTokenCount": 5}),
        event({"text": ""}, finish="STOP", usageMetadata=meta),
    )
    assert chunks[:3] == [Reasoning(token="Hmm"), "Hello", Reasoning(signature="c2ln")]
    assert chunks[3] == FinishReason("stop")
    usage = chunks[4]
    assert isinstance(usage, Usage)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (6, 7, 13)
    assert usage.prompt_tokens_details == {"cached_tokens": 2}
    assert usage.completion_tokens_details == {"reasoning_tokens": 4}


def test_usage_without_total_adds_up() -> None:
    usage = usage_chunk({"promptTokenCount": 3, "candidatesTokenCount": 2})
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (3, 2, 5)


def test_function_calls_get_stable_ids_or_keep_the_apis() -> None:
    chunks = run(
        event({"functionCall": {"name": "a", "args": {"x": 1}}, "thoughtSignature": "c2ln"}),
        event({"functionCall": {"name": "b"}}, {"functionCall": {"name": "c", "id": "fc-9"}},
              finish="STOP"),
    )  # fmt: skip
    calls = next(c for c in chunks if isinstance(c, ToolCalls)).get_list()
    assert [c["id"] for c in calls] == ["call_0", "call_1", "fc-9"]
    assert calls[0]["function"] == {"name": "a", "arguments": '{"x": 1}'}
    assert calls[1]["function"]["arguments"] == "{}"
    assert calls[0]["extra_content"] == {"google": {"thought_signature": "c2ln"}}
    assert "extra_content" not in calls[1]
    assert Reasoning(signature="c2ln") in chunks
    assert chunks[-1] == FinishReason("tool_calls")


@pytest.mark.parametrize(
    ("reason", "finish"),
    [("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"),
     ("RECITATION", "content_filter"), ("OTHER", "stop"), ("LANGUAGE", "stop")],
)  # fmt: skip
def test_finish_reasons(reason: str, finish: str) -> None:
    assert run(event({"text": "Partial"}, finish=reason))[-1] == FinishReason(finish)


@pytest.mark.parametrize("reason", ["SAFETY", "PROHIBITED_CONTENT", "SPII", "BLOCKLIST"])
def test_answer_blocked_before_any_text_raises(reason: str) -> None:
    blocked = event(finish=reason)
    blocked["candidates"][0]["finishMessage"] = "Unsafe."
    with pytest.raises(ResponseError, match=f"blocked the answer.*{reason}.*Unsafe") as info:
        run(event({"text": "Hmm", "thought": True}), blocked)
    assert info.value.provider == "Gemini"


def test_blocked_prompt_raises_at_once() -> None:
    parser = ResponseParser(provider="Gemini")
    feedback = {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "No."}
    with pytest.raises(ResponseError, match=r"blocked the prompt.*PROHIBITED_CONTENT.*No"):
        parser.feed({"promptFeedback": feedback, "usageMetadata": {"promptTokenCount": 3}})


def test_malformed_call_without_answer_raises() -> None:
    with pytest.raises(ResponseError, match="MALFORMED_FUNCTION_CALL"):
        run(event(finish="MALFORMED_FUNCTION_CALL"))


def test_stream_without_finish_reason_is_incomplete() -> None:
    with pytest.raises(IncompleteResponseError, match="finishReason") as info:
        run(event({"text": "Hello"}))
    assert info.value.provider == "Gemini"
    assert run(event({"text": "Hello"}), whole=True)[-1] == FinishReason("stop")
    with pytest.raises(ResponseError, match="no candidates"):
        run({"usageMetadata": {}}, whole=True)


def test_grounding_sources_and_inline_images() -> None:
    grounding = {"groundingChunks": [
        {"web": {"uri": "https://a.example", "title": "A"}}, {"web": {"uri": "https://b.example"}},
        {"web": {"uri": "https://a.example", "title": "A"}}, {"retrievedContext": {}},
    ]}  # fmt: skip
    first = event({"text": "Found."})
    first["candidates"][0]["groundingMetadata"] = grounding
    last = event({"inlineData": {"mimeType": "image/png", "data": "iVBO"}}, finish="STOP")
    last["candidates"][0]["groundingMetadata"] = grounding
    chunks = run(first, last)
    sources = [c for c in chunks if isinstance(c, Sources)]
    assert len(sources) == 1
    assert sources[0].list == [{"url": "https://a.example", "title": "A"},
                               {"url": "https://b.example", "title": ""}]  # fmt: skip
    images = [c for c in chunks if isinstance(c, ImageResponse)]
    assert images[0].get_list() == ["data:image/png;base64,iVBO"]
