"""`/openapi.json`: the gateway's routes, what they take and every answer they give."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_spec"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_OPENAI_ERRORS = {
    str(code): _json(_ref("Error"), text)
    for code, text in (
        (400, "Malformed JSON or a field that is wrong, unknown or refused (`param` names it)"),
        (401, "No valid gateway key"),
        (402, "The provider wants payment"),
        (403, "The provider refused the credentials"),
        (404, "Unknown model or provider (or previous_response_id)"),
        (405, "Method not allowed"),
        (413, "Body over the size limit"),
        (422, "The provider refused the request"),
        (429, "Rate limited (Retry-After says when to retry)"),
        (502, "The provider failed or could not be reached"),
        (503, "At the in-flight limit, or no provider configured (Retry-After)"),
        (504, "The provider timed out"),
    )
}
_ANTHROPIC_ERRORS = {
    code: _json(_ref("AnthropicError"), answer["description"])
    for code, answer in _OPENAI_ERRORS.items()
}
_AUTH_ERRORS = {k: v for k, v in _OPENAI_ERRORS.items() if k in ("401", "405")}
_SSE = {"text/event-stream": {"schema": {"type": "string"}}}

_MESSAGE = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}},
                              {"type": "null"}]},
        "name": {"type": "string"},
        "tool_calls": {"type": "array", "items": {"type": "object"}},
        "tool_call_id": {"type": "string"},
    },
}  # fmt: skip

_CACHE = {
    "description": "llmrelay: the response cache for this request (virtual keys with a cache): "
    "true asks for it, false leaves it out",
    "anyOf": [{"type": "boolean"}, {"type": "object", "additionalProperties": False,
              "properties": {"use-cache": {"type": "boolean"}, "no-cache": {"type": "boolean"},
                             "no-store": {"type": "boolean"}, "ttl": {"type": "number"},
                             "s-maxage": {"type": "number"}}}],
}  # fmt: skip

_CHAT_REQUEST = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string"},
        "messages": {"type": "array", "minItems": 1, "items": _MESSAGE},
        "stream": {"type": "boolean"},
        "stream_options": {"type": "object",
                           "properties": {"include_usage": {"type": "boolean"}}},
        "provider": {"type": "string", "description": "llmrelay: the provider to use"},
        "cache": _CACHE,
        "temperature": {"type": "number"},
        "top_p": {"type": "number"},
        "max_tokens": {"type": "integer"},
        "max_completion_tokens": {"type": "integer"},
        "stop": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "seed": {"type": "integer"},
        "tools": {"type": "array", "items": {"type": "object"}},
        "tool_choice": {"anyOf": [{"type": "string"}, {"type": "object"}]},
        "response_format": {"type": "object"},
        "user": {"type": "string"},
        "n": {"type": "integer"},
        "presence_penalty": {"type": "number"},
        "frequency_penalty": {"type": "number"},
        "reasoning_effort": {"type": "string"},
    },
}  # fmt: skip

_MESSAGES_REQUEST = {
    "type": "object",
    "required": ["model", "messages", "max_tokens"],
    "properties": {
        "model": {"type": "string"},
        "max_tokens": {"type": "integer", "minimum": 1},
        "messages": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["role", "content"],
            "properties": {"role": {"type": "string", "enum": ["user", "assistant"]},
                           "content": {"anyOf": [{"type": "string"},
                                                 {"type": "array", "items": {"type": "object"}}]}},
        }},
        "system": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]},
        "stream": {"type": "boolean"},
        "provider": {"type": "string", "description": "llmrelay: the provider to use"},
        "cache": _CACHE,
        "stop_sequences": {"type": "array", "items": {"type": "string"}},
        "temperature": {"type": "number"},
        "top_p": {"type": "number"},
        "top_k": {"type": "integer"},
        "tools": {"type": "array", "items": {"type": "object"}},
        "tool_choice": {"type": "object"},
        "thinking": {"type": "object"},
        "metadata": {"type": "object"},
    },
}  # fmt: skip

_IMAGE_FIELDS = {
    "prompt": {"type": "string", "minLength": 1},
    "model": {"type": "string"},
    "n": {"type": "integer", "minimum": 1, "maximum": 10},
    "size": {"type": "string"},
    "response_format": {"type": "string", "enum": ["url", "b64_json"]},
    "provider": {"type": "string", "description": "llmrelay: the image provider to use"},
    "seed": {"type": "integer"},
    "aspect_ratio": {"type": "string"},
    "user": {"type": "string"},
}
_IMAGES_REQUEST = {"type": "object", "required": ["prompt"], "properties": _IMAGE_FIELDS}
_IMAGE_EDIT_REQUEST = {"type": "object", "required": ["image", "prompt"], "properties": {
    "image": {"type": "string", "format": "binary"}, **_IMAGE_FIELDS}}  # fmt: skip

_TOKENS = {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}}
_EMBEDDINGS_REQUEST = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "input": {"anyOf": [{"type": "string"},
                            {"type": "array", "minItems": 1, "items": {"type": "string"}},
                            _TOKENS, {"type": "array", "minItems": 1, "items": _TOKENS}]},
        "dimensions": {"type": "integer", "minimum": 1},
        "encoding_format": {"type": "string", "enum": ["float", "base64"]},
        "user": {"type": "string"},
        "provider": {"type": "string", "description": "llmrelay: the provider to use"},
    },
}  # fmt: skip

_RESPONSES_REQUEST = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "input": {"anyOf": [{"type": "string"},
                            {"type": "array", "minItems": 1, "items": {"type": "object"}}]},
        "stream": {"type": "boolean"},
        "provider": {"type": "string", "description": "llmrelay: the provider to use"},
        "instructions": {"type": "string"},
        "tools": {"type": "array", "items": {"type": "object"}},
        "tool_choice": {"anyOf": [{"type": "string"}, {"type": "object"}]},
        "temperature": {"type": "number"},
        "top_p": {"type": "number"},
        "max_output_tokens": {"type": "integer"},
        "previous_response_id": {"type": "string", "description": "a response this caller "
                                 "made through the gateway (kept for a while), else 404"},
        "parallel_tool_calls": {"type": "boolean"},
        "store": {"type": "boolean"},
        "metadata": {"type": "object"},
        "user": {"type": "string"},
        "reasoning": {"type": "object"},
        "text": {"type": "object"},
        "truncation": {"type": "string"},
        "include": {"type": "array", "items": {"type": "string"}},
        "service_tier": {"type": "string"},
    },
}  # fmt: skip

_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["message", "type"],
        "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                       "param": {"type": ["string", "null"]},
                       "code": {"type": ["string", "null"]}}}}},
    "AnthropicError": {"type": "object", "required": ["type", "error"], "properties": {
        "type": {"const": "error"},
        "error": {"type": "object", "required": ["type", "message"],
                  "properties": {"type": {"type": "string"}, "message": {"type": "string"}}}}},
    "ChatCompletionRequest": _CHAT_REQUEST,
    "ChatCompletion": {"type": "object", "required": ["id", "object", "created", "model",
                                                      "choices"], "properties": {
        "id": {"type": "string"}, "object": {"const": "chat.completion"},
        "created": {"type": "integer"}, "model": {"type": "string"},
        "choices": {"type": "array", "items": {"type": "object"}},
        "usage": {"type": "object"}}},
    "MessagesRequest": _MESSAGES_REQUEST,
    "Message": {"type": "object", "required": ["id", "type", "role", "content", "model",
                                               "stop_reason", "usage"], "properties": {
        "id": {"type": "string"}, "type": {"const": "message"}, "role": {"const": "assistant"},
        "content": {"type": "array", "items": {"type": "object"}}, "model": {"type": "string"},
        "stop_reason": {"type": ["string", "null"]}, "usage": {"type": "object"}}},
    "ImagesRequest": _IMAGES_REQUEST,
    "ImageEditRequest": _IMAGE_EDIT_REQUEST,
    "ImagesResponse": {"type": "object", "required": ["created", "data"], "properties": {
        "created": {"type": "integer"}, "data": {"type": "array", "items": {
            "type": "object", "properties": {"url": {"type": ["string", "null"]},
                                             "b64_json": {"type": ["string", "null"]},
                                             "revised_prompt": {"type": ["string", "null"]}}}}}},
    "EmbeddingsRequest": _EMBEDDINGS_REQUEST,
    "EmbeddingList": {"type": "object", "required": ["object", "data", "model", "usage"],
                      "properties": {
        "object": {"const": "list"}, "model": {"type": "string"},
        "data": {"type": "array", "items": {
            "type": "object", "required": ["object", "index", "embedding"],
            "properties": {"object": {"const": "embedding"}, "index": {"type": "integer"},
                           "embedding": {"anyOf": [{"type": "array", "items": {"type": "number"}},
                                                   {"type": "string"}]}}}},
        "usage": {"type": "object", "required": ["prompt_tokens", "total_tokens"],
                  "properties": {"prompt_tokens": {"type": "integer"},
                                 "total_tokens": {"type": "integer"}}}}},
    "ResponsesRequest": _RESPONSES_REQUEST,
    "Response": {"type": "object", "required": ["id", "object", "status", "model", "output"],
                 "properties": {
        "id": {"type": "string"}, "object": {"const": "response"},
        "created_at": {"type": "number"}, "status": {"type": "string"},
        "model": {"type": "string"}, "output": {"type": "array", "items": {"type": "object"}},
        "previous_response_id": {"type": ["string", "null"]},
        "usage": {"type": ["object", "null"]}}},
    "Model": {"type": "object", "required": ["id", "object", "owned_by"], "properties": {
        "id": {"type": "string"}, "object": {"const": "model"}, "created": {"type": "integer"},
        "owned_by": {"type": "string"}}},
    "ModelList": {"type": "object", "required": ["object", "data"], "properties": {
        "object": {"const": "list"}, "data": {"type": "array", "items": _ref("Model")}}},
    "ProviderList": {"type": "object", "required": ["object", "data"], "properties": {
        "object": {"const": "list"}, "data": {"type": "array", "items": {
            "type": "object", "required": ["id", "configured"],
            "properties": {"id": {"type": "string"}, "label": {"type": "string"},
                           "configured": {"type": "boolean"},
                           "upstream": {"type": "boolean"}}}}}},
    "Health": {"type": "object", "required": ["status"],
               "properties": {"status": {"const": "ok"}}},
}  # fmt: skip


def openapi_spec() -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    security: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "llmrelay gateway", "version": "1",
                 "description": "OpenAI- and Anthropic-compatible API in front of any provider"},
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
        "security": security,
        "paths": {
            "/v1/chat/completions": {"post": {
                "operationId": "createChatCompletion",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("ChatCompletionRequest")}}},
                "responses": {"200": {"description": "The answer, or with stream: true its "
                                      "chunks as server-sent events ending with data: [DONE]",
                                      "content": {"application/json": {
                                          "schema": _ref("ChatCompletion")}, **_SSE}},
                              **_OPENAI_ERRORS},
            }},
            "/v1/messages": {"post": {
                "operationId": "createMessage",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("MessagesRequest")}}},
                "responses": {"200": {"description": "The message, or with stream: true its "
                                      "events (message_start … message_stop)",
                                      "content": {"application/json": {
                                          "schema": _ref("Message")}, **_SSE}},
                              **_ANTHROPIC_ERRORS},
            }},
            "/v1/images/generations": {"post": {
                "operationId": "createImage",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("ImagesRequest")}}},
                "responses": {"200": _json(_ref("ImagesResponse"), "The images, as URLs or "
                                           "base64 as asked"), **_OPENAI_ERRORS},
            }},
            "/v1/images/edits": {"post": {
                "operationId": "createImageEdit",
                "requestBody": {"required": True, "content": {
                    "multipart/form-data": {"schema": _ref("ImageEditRequest")}}},
                "responses": {"200": _json(_ref("ImagesResponse"), "The edited images"),
                              **_OPENAI_ERRORS},
            }},
            "/v1/embeddings": {"post": {
                "operationId": "createEmbedding",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("EmbeddingsRequest")}}},
                "responses": {"200": _json(_ref("EmbeddingList"), "One vector per input, in "
                                           "order (floats, or base64 as asked)"),
                              **_OPENAI_ERRORS},
            }},
            "/v1/responses": {"post": {
                "operationId": "createResponse",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("ResponsesRequest")}}},
                "responses": {"200": {"description": "The response, or with stream: true its "
                                      "events (response.created … response.completed, or "
                                      "error)", "content": {"application/json": {
                                          "schema": _ref("Response")}, **_SSE}},
                              **_OPENAI_ERRORS},
            }},
            "/v1/models": {"get": {"operationId": "listModels", "responses": {
                "200": _json(_ref("ModelList"), "The models this gateway routes"),
                **_AUTH_ERRORS}}},
            "/v1/models/{model}": {"get": {
                "operationId": "retrieveModel",
                "parameters": [{"name": "model", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": _json(_ref("Model"), "The model"),
                              "404": _OPENAI_ERRORS["404"], **_AUTH_ERRORS}}},
            "/v1/providers": {"get": {"operationId": "listProviders", "responses": {
                "200": _json(_ref("ProviderList"), "Providers and whether they are configured"),
                **_AUTH_ERRORS}}},
            "/health": {"get": {"operationId": "health", "security": [], "responses": {
                "200": _json(_ref("Health"), "The process serves (no key needed)")}}},
            "/metrics": {"get": {"operationId": "metrics", "responses": {
                "200": {"description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}}},
                **_AUTH_ERRORS}}},
            "/openapi.json": {"get": {"operationId": "openapi", "responses": {
                "200": _json({"type": "object"}, "This document"), **_AUTH_ERRORS}}},
        },
    }  # fmt: skip
