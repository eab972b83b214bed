"""Gemini `generateContent` requests (Gemini API and Vertex AI), I/O-free; responses are
parsed by `upstream_response`.

`build_payload` turns our OpenAI-shaped messages and parameters into a `GenerateContentRequest`.

Choices made here:

* Tools and JSON output use the JSON-Schema fields the google-genai SDK documents for both
  backends, `functionDeclarations[].parametersJsonSchema` and `generationConfig.
  responseJsonSchema` (full JSON Schema: `additionalProperties`, `$ref`, `anyOf`, … pass);
  only `$schema` is dropped.
* Function calls carry no ids on the wire in requests (several Gemini endpoints refuse `id` in
  `functionCall`/`functionResponse`): an answer's calls keep the API's `id` when it sends one,
  else get `call_<n>` (n counts the calls of that answer); a tool result is sent by the function
  name, found from the `tool_call_id` in the nearest earlier assistant message.
* Thought signatures: a signed `functionCall` part puts its signature on its tool call as
  `extra_content.google.thought_signature` (Google's OpenAI-compatible shape) and every
  signature is also yielded as `Reasoning(signature=…)`. Sent back, a tool call's signature
  returns to its `functionCall`, and an assistant `reasoning: {"signature"}` to that turn's
  first call (else its last part). Gemini 3 refuses function-call history without one: for
  `gemini-3`+ models such a turn gets Google's documented `skip_thought_signature_validator`.
* Usage: `completion_tokens` = `candidatesTokenCount` + `thoughtsTokenCount` (OpenAI counts
  reasoning in completion tokens; Gemini bills thoughts as output), with
  `completion_tokens_details.reasoning_tokens`; `prompt_tokens` adds `toolUsePromptTokenCount`,
  so prompt + completion = `totalTokenCount`; `prompt_tokens_details.cached_tokens` is
  `cachedContentTokenCount`.
* Safety: a blocked prompt (`promptFeedback.blockReason`), or an answer stopped by a filter
  before any text or call, raises `ContentFilterError` naming the reason; a filter that stops an
  answer midway is `FinishReason("content_filter")`.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Mapping
from typing import Any

from ...errors import (
    InvalidMessagesError,
    InvalidRequestError,
)
from ...providers.media import Media
from ...providers.response import (
    ResponseType,
)
from ..openai.upstream import stop_sequences

__all__ = ["SKIP_SIGNATURE", "build_payload", "model_path"]

Chunk = str | ResponseType
#: Google's documented stand-in signature for function-call history that has lost its own.
SKIP_SIGNATURE = "skip_thought_signature_validator"
_TOOL_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
_AUDIO = {"wav": "audio/wav", "mp3": "audio/mp3"}
_MODEL = re.compile(r"(?:models/|(?P<tuned>tunedModels/))?(?P<name>[A-Za-z0-9][\w.@-]*)")


def model_path(model: str) -> str:
    """`models/<name>` (or `tunedModels/<name>`) for the URL; refuses names that could alter
    the path."""
    match = _MODEL.fullmatch(model)
    if match is None:
        raise InvalidRequestError(f"invalid Gemini model name {model!r}")
    return f"{'tunedModels' if match['tuned'] else 'models'}/{match['name']}"


# -- request ----------------------------------------------------------------------------------


def _text(content: Any) -> str:
    if isinstance(content, str) or content is None:
        return content or ""
    return "".join(p.get("text", "") for p in content if p.get("type") in ("text", "refusal"))


def _data_part(uri: str) -> dict[str, Any]:
    header, _, data = uri.partition(",")
    mime = header[5:].removesuffix(";base64")
    if not header.endswith(";base64") or not data:
        raise InvalidRequestError("a data: URI must be base64: data:<type>;base64,<data>")
    return {"inlineData": {"mimeType": mime or "application/octet-stream", "data": data}}


def _uri_part(uri: str, default_mime: str = "image/jpeg") -> dict[str, Any]:
    """A `data:` URI inline; an http(s) or gs:// URL as `fileData` for the API to fetch."""
    if uri.startswith("data:"):
        return _data_part(uri)
    if uri.startswith(("https://", "http://", "gs://")):
        mime = mimetypes.guess_type(uri.split("?")[0])[0] or default_mime
        return {"fileData": {"mimeType": mime, "fileUri": uri}}
    raise InvalidRequestError(f"an image must be a data: URI or an http(s)/gs:// URL: {uri[:60]!r}")


def _media_part(item: Media) -> dict[str, Any]:
    known = item.mime_type != "application/octet-stream"
    return _uri_part(item.uri, item.mime_type if known else "image/jpeg")


def _content_part(part: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = part.get("type")
    if kind in ("text", "refusal"):
        return {"text": part[kind]} if part[kind] else None
    if kind == "image_url":
        image = part["image_url"]
        return _uri_part(image["url"] if isinstance(image, Mapping) else image)
    if kind == "input_audio":
        audio = part["input_audio"]
        mime = _AUDIO.get(str(audio.get("format")), f"audio/{audio.get('format')}")
        return {"inlineData": {"mimeType": mime, "data": audio.get("data")}}
    file = part["file"]
    if isinstance(file.get("file_data"), str):
        return _uri_part(file["file_data"], "application/octet-stream")
    raise InvalidRequestError("Gemini takes files inline (file_data as a data: URI), not file_id")


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    return [p for p in map(_content_part, content or ()) if p is not None]


def _call_part(call: Mapping[str, Any], where: str) -> dict[str, Any]:
    function = call["function"]
    arguments = function.get("arguments") or "{}"
    try:
        args = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        raise InvalidMessagesError(f"{where}: tool call arguments are not JSON") from None
    if not isinstance(args, Mapping):
        raise InvalidMessagesError(f"{where}: tool call arguments must be a JSON object")
    part: dict[str, Any] = {"functionCall": {"name": function["name"], "args": dict(args)}}
    extra = call.get("extra_content")
    signature = (
        extra.get("google", {}).get("thought_signature") if isinstance(extra, dict) else None
    )
    if isinstance(signature, str):
        part["thoughtSignature"] = signature
    return part


def _model_parts(message: Mapping[str, Any], where: str, model: str) -> list[dict[str, Any]]:
    parts = _parts(message.get("content"))
    calls = [_call_part(c, where) for c in message.get("tool_calls") or ()]
    parts += calls
    reasoning = message.get("reasoning")
    signature = reasoning.get("signature") if isinstance(reasoning, Mapping) else None
    if calls and not signature and _needs_signature(model):
        signature = SKIP_SIGNATURE
    if parts and isinstance(signature, str) and not any("thoughtSignature" in p for p in parts):
        (calls or parts)[0 if calls else -1]["thoughtSignature"] = signature
    return parts


def _needs_signature(model: str) -> bool:
    match = re.search(r"gemini-(\d+)", model)
    return match is not None and int(match[1]) >= 3


def _contents(
    messages: list[dict[str, Any]], media: list[Media], model: str
) -> tuple[list[str], list[dict[str, Any]]]:
    """(system texts, contents). Adjacent turns of one role and kind are merged."""
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id → function name, from the latest assistant turn
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if media and last_user is None:
        raise InvalidRequestError("media needs a user message to attach to")
    for i, message in enumerate(messages):
        role, where = message["role"], f"messages[{i}]"
        if role in ("system", "developer"):
            system.append(_text(message.get("content")))
            continue
        if role == "assistant":
            names.update((c["id"], c["function"]["name"]) for c in message.get("tool_calls") or ())
            turn, parts = "model", _model_parts(message, where, model)
        elif role in ("tool", "function"):
            name = names.get(message.get("tool_call_id", "")) or message.get("name")
            if not name:
                raise InvalidMessagesError(
                    f"{where}: no earlier assistant tool call has id "
                    f"{message.get('tool_call_id')!r}; Gemini needs the function name"
                )
            response = {"name": name, "response": {"content": _text(message.get("content"))}}
            turn, parts = "tool", [{"functionResponse": response}]
        else:
            turn, parts = "user", _parts(message.get("content"))
            if i == last_user:
                parts += [_media_part(m) for m in media]
        if not parts:
            continue
        if contents and contents[-1]["kind"] == turn:
            contents[-1]["parts"] += parts
        else:
            contents.append({"kind": turn, "parts": parts})
    if not contents:
        raise InvalidMessagesError("Gemini needs at least one user or assistant message")
    return system, [{"role": "model" if c["kind"] == "model" else "user", "parts": c["parts"]}
                    for c in contents]  # fmt: skip


def _schema(schema: Any) -> Any:
    return {k: v for k, v in schema.items() if k != "$schema"} if isinstance(schema, dict) else {}


def _declarations(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise InvalidRequestError("tools must be a list of tool objects")
    declarations = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or tool.get("type") != "function":
            raise InvalidRequestError(
                f"tools[{i}]: Gemini takes function tools {{'type': 'function', 'function': …}}"
            )
        if not isinstance(function.get("name"), str):
            raise InvalidRequestError(f"tools[{i}].function needs a string 'name'")
        declaration = {"name": function["name"]}
        if function.get("description"):
            declaration["description"] = function["description"]
        if function.get("parameters"):
            declaration["parametersJsonSchema"] = _schema(function["parameters"])
        declarations.append(declaration)
    return declarations


def _tool_config(tool_choice: Any) -> dict[str, Any]:
    if isinstance(tool_choice, str) and tool_choice in _TOOL_MODES:
        return {"functionCallingConfig": {"mode": _TOOL_MODES[tool_choice]}}
    function = tool_choice.get("function") if isinstance(tool_choice, Mapping) else None
    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
        config = {"mode": "ANY", "allowedFunctionNames": [function["name"]]}
        return {"functionCallingConfig": config}
    raise InvalidRequestError(
        "tool_choice must be 'auto', 'none', 'required' or "
        "{'type': 'function', 'function': {'name': …}}"
    )


def _response_format(response_format: Any) -> dict[str, Any]:
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    spec = response_format.get("json_schema") if kind == "json_schema" else None
    if isinstance(spec, Mapping) and isinstance(spec.get("schema"), Mapping):
        return {
            "responseMimeType": "application/json",
            "responseJsonSchema": _schema(spec["schema"]),
        }
    raise InvalidRequestError(
        "response_format must be {'type': 'json_object'} or "
        "{'type': 'json_schema', 'json_schema': {'name': …, 'schema': {…}}}"
    )


def build_payload(
    model: str,
    messages: list[dict[str, Any]],
    *,
    media: list[Media] = (),  # type: ignore[assignment]
    tools: Any = None,
    tool_choice: Any = None,
    response_format: Any = None,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
    max_tokens: int | None = None,
    stop: str | list[str] | None = None,
    seed: int | None = None,
    thinking_budget: int | None = None,
    web_search: bool = False,
) -> dict[str, Any]:
    """The `GenerateContentRequest` body (the model goes in the URL)."""
    system, contents = _contents(messages, list(media), model)
    payload: dict[str, Any] = {"contents": contents}
    if system:
        payload["systemInstruction"] = {"parts": [{"text": text} for text in system]}
    tool_list: list[dict[str, Any]] = []
    if tools:
        tool_list.append({"functionDeclarations": _declarations(tools)})
    if web_search:
        tool_list.append({"googleSearch": {}})
    if tool_list:
        payload["tools"] = tool_list
    if tool_choice is not None:
        payload["toolConfig"] = _tool_config(tool_choice)
    config: dict[str, Any] = {}
    for key, value in (("temperature", temperature), ("topP", top_p), ("topK", top_k),
                       ("maxOutputTokens", max_tokens), ("seed", seed)):  # fmt: skip
        if value is not None:
            config[key] = value
    if stop is not None:
        config["stopSequences"] = stop_sequences(stop)
    if response_format is not None:
        config.update(_response_format(response_format))
    if thinking_budget is not None:
        if isinstance(thinking_budget, bool) or not isinstance(thinking_budget, int):
            raise InvalidRequestError(f"thinking_budget must be an integer: {thinking_budget!r}")
        thinking: dict[str, Any] = {"thinkingBudget": thinking_budget}
        if thinking_budget != 0:
            thinking["includeThoughts"] = True
        config["thinkingConfig"] = thinking
    if config:
        payload["generationConfig"] = config
    return payload
