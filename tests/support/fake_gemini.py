"""A local fake of Google's Gemini API and of Gemini on Vertex AI (with its OAuth token endpoint).

``async with FakeGemini() as fake:`` serves ``fake.base_url`` (``http://127.0.0.1:PORT``, no
version: clients add ``/v1beta/models/…``, as the google-genai SDK does with ``base_url``).
Routes:

- ``POST /{v1beta,v1,v1alpha}/models/{model}:generateContent`` and
  ``…:streamGenerateContent?alt=sse``: the Gemini API. With ``api_key`` set, a request without
  ``x-goog-api-key`` (or ``?key=``) gets 403 PERMISSION_DENIED and a wrong key 400
  INVALID_ARGUMENT with ErrorInfo reason ``API_KEY_INVALID``, as the real API answers.
- ``POST /v1/projects/{p}/locations/{l}/publishers/google/models/{model}:…``: Vertex AI; it
  needs ``Authorization: Bearer <token>`` with a token this fake issued, unexpired and not
  revoked (``fake.revoke_tokens()``), else 401 UNAUTHENTICATED.
- ``POST /token``: the service-account token endpoint (``fake.token_url``). It takes the
  form-encoded JWT-bearer grant, verifies the RS256 signature with the public key of an account
  registered by ``fake.register_account`` (``fake.service_account(dir)`` makes one and writes
  its key file), checks ``kid``, ``iss``, ``aud`` (this endpoint's URL, or Google's, which
  google-auth always signs for), ``scope``, ``iat`` and ``exp`` (at most an hour apart), counts
  requests in ``fake.token_requests`` and grants ``ya29.fake-token-<n>`` for
  ``fake.token_expires_in`` seconds; otherwise 400 ``invalid_grant``.

Model requests take the behaviours of `support.fake_openai` through ``fake.script(...)``:

- ``Reply``/``Many``: parts in the order thought (``reasoning``), text, ``functionCall`` (args
  parsed from the call's arguments; ``id`` only if the ToolCall has one). Streamed, each text
  piece is one event, each call one event, then a final event with an empty text part, the
  ``finishReason`` and the full ``usageMetadata`` (earlier events carry the prompt count only).
  ``finish_reason`` in OpenAI's words maps to Gemini's (stop/tool_calls → STOP, length →
  MAX_TOKENS, content_filter → SAFETY); others pass as given. Usage: ``completion_tokens`` minus
  ``reasoning_tokens`` → ``candidatesTokenCount``, ``reasoning_tokens`` → ``thoughtsTokenCount``.
- ``Answer(parts, …)``: Gemini's own parts (signatures, inline images), grounding metadata, a
  ``finishReason`` (None: none at all), or a blocked prompt (``block_reason``).
- ``Status(code)``: Google's error body ``{"error": {"code", "message", "status"}}``.
- ``StreamThenError(chunks, error)``: the first ``chunks`` events, then ``data: {"error": …}``
  (an OpenAI-shaped error becomes ``{"code": 500, "message", "status": "INTERNAL"}``).
- ``CutStream(chunks)``: the first ``chunks`` events, then the connection closes (no finishing
  event); non-streaming: half the JSON body under a full Content-Length.
"""

from __future__ import annotations

import base64
import itertools
import json
import pathlib
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from support import fake_embeddings
from support.fake_openai import (
    _RECORD,
    PROMPT_TOKENS,
    Behaviour,
    Counter,
    CutStream,
    FakeOpenAI,
    Many,
    RecordedRequest,
    Reply,
    Status,
    StreamThenError,
    _drop,
    _json,
    _open_stream,
    _pieces,
    _sse,
)

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: google-auth signs every grant for this audience, whatever the key file's token_uri.
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
_ERRORS: dict[int, tuple[str, str]] = {  # status → default (google.rpc status, message)
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 "
                             "access token, login cookie or other valid authentication "
                             "credential."),
    403: ("PERMISSION_DENIED", "Method doesn't allow unregistered callers."),
    404: ("NOT_FOUND", "models/unknown is not found for API version v1beta."),
    429: ("RESOURCE_EXHAUSTED", "You exceeded your current quota."),
    500: ("INTERNAL", "An internal error has occurred."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The request timed out."),
}  # fmt: skip
_FINISH = {"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS",
           "content_filter": "SAFETY"}  # fmt: skip


def error_body(code: int, message: str | None = None, status: str | None = None,
               details: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """Google's error body."""
    default_status, default_message = _ERRORS.get(code, ("UNKNOWN", f"HTTP {code}"))
    error: dict[str, Any] = {"code": code, "message": message or default_message,
                             "status": status or default_status}  # fmt: skip
    if details is not None:
        error["details"] = list(details)
    return {"error": error}


def retry_info(seconds: str) -> dict[str, Any]:
    """The `google.rpc.RetryInfo` detail of a 429 (`seconds` such as "7s")."""
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": seconds}


@dataclass(frozen=True)
class Answer:
    """An answer given as Gemini parts (see the module docstring)."""

    parts: Sequence[Mapping[str, Any]] = ()
    finish_reason: str | None = "STOP"
    finish_message: str | None = None
    usage: Mapping[str, Any] | None = None  # usageMetadata of the final event
    grounding: Mapping[str, Any] | None = None  # groundingMetadata of the final event
    block_reason: str | None = None  # promptFeedback.blockReason: no candidates at all
    chunk_size: int | None = None


def _answer(reply: Reply | Answer) -> Answer:
    """The reply as an `Answer`."""
    if isinstance(reply, Answer):
        return reply
    parts: list[dict[str, Any]] = []
    if reply.reasoning:
        parts.append({"text": reply.reasoning, "thought": True})
    if reply.content:
        parts.append({"text": reply.content})
    for call in reply.tool_calls:
        function = {"name": call.name, "args": json.loads(call.arguments)}
        parts.append({"functionCall": function | ({"id": call.id} if call.id else {})})
    finish = _FINISH.get(reply.finish_reason or "stop", reply.finish_reason)
    thoughts = len(_pieces(reply.reasoning or "", reply.chunk_size))
    if reply.usage is False:
        return Answer(parts, finish, chunk_size=reply.chunk_size)
    if reply.usage is True:
        candidates = sum(len(_split(p, reply.chunk_size)) for p in parts) - thoughts
        usage = {"promptTokenCount": PROMPT_TOKENS, "candidatesTokenCount": candidates,
                 "thoughtsTokenCount": thoughts}  # fmt: skip
    else:
        usage = {"promptTokenCount": reply.usage.prompt_tokens,
                 "candidatesTokenCount": reply.usage.completion_tokens
                 - reply.usage.reasoning_tokens,
                 "thoughtsTokenCount": reply.usage.reasoning_tokens}  # fmt: skip
    usage = {k: v for k, v in usage.items() if v or k == "promptTokenCount"}
    usage["totalTokenCount"] = sum(usage.values())
    return Answer(parts, finish, usage=usage, chunk_size=reply.chunk_size)


def _split(part: Mapping[str, Any], size: int | None) -> list[dict[str, Any]]:
    """A part as streamed: text in pieces (the signature on the last), anything else whole."""
    if "text" not in part or not part["text"]:
        return [dict(part)]
    pieces = [{**part, "text": piece} for piece in _pieces(part["text"], size)]
    for piece in pieces[:-1]:
        piece.pop("thoughtSignature", None)
    return pieces


@dataclass(frozen=True)
class _Call:
    model: str
    stream: bool
    response_id: str

    def envelope(self, candidate: dict[str, Any] | None, usage: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"candidates": [candidate]} if candidate is not None else {}
        if usage:
            body["usageMetadata"] = usage
        return body | {"modelVersion": self.model, "responseId": self.response_id}

    def candidate(self, parts: list[dict[str, Any]], answer: Answer | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if answer is not None:
            if answer.finish_reason:
                candidate["finishReason"] = answer.finish_reason
            if answer.finish_message:
                candidate["finishMessage"] = answer.finish_message
            if answer.grounding:
                candidate["groundingMetadata"] = answer.grounding
        return candidate

    def blocked(self, answer: Answer) -> dict[str, Any]:
        feedback = {"promptFeedback": {"blockReason": answer.block_reason}}
        return feedback | self.envelope(None, answer.usage)

    def events(self, answer: Answer) -> tuple[list[bytes], list[bytes]]:
        """(one event per piece or call, then the finishing event)."""
        if answer.block_reason:
            return [], [_sse(self.blocked(answer))]
        prompt = {"promptTokenCount": (answer.usage or {}).get("promptTokenCount", 0)}
        pieces = [p for part in answer.parts for p in _split(part, answer.chunk_size)]
        head = [_sse(self.envelope(self.candidate([p], None), prompt if answer.usage else None))
                for p in pieces]  # fmt: skip
        final = self.envelope(self.candidate([{"text": ""}], answer), answer.usage)
        return head, [_sse(final)]

    def whole(self, answer: Answer) -> dict[str, Any]:
        if answer.block_reason:
            return self.blocked(answer)
        return self.envelope(self.candidate([dict(p) for p in answer.parts], answer), answer.usage)


def _status(status: Status) -> web.Response:
    if isinstance(status.body, str):
        headers = {"content-type": "text/plain; charset=utf-8", **status.headers}
        return web.Response(status=status.code, body=status.body.encode(), headers=headers)
    return _json(status.body or error_body(status.code), status.code, status.headers)


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class _Account:
    key_id: str
    public_key: rsa.RSAPublicKey
    grants: list[dict[str, Any]] = field(default_factory=list)


class FakeGemini(FakeOpenAI):
    """The fake server; see the module docstring."""

    def __init__(
        self,
        *,
        models: Sequence[str] = ("gemini-2.5-flash",),
        api_key: str | None = None,
        default: Behaviour | Answer | None = None,
    ) -> None:
        super().__init__(models=models, default=default)
        self.api_key = api_key  # checked by the Gemini routes (the parent's check is skipped)
        self.token_requests = Counter()
        self.token_expires_in = 3600
        self.accounts: dict[str, _Account] = {}
        self._tokens: dict[str, float] = {}  # access token → expiry (epoch seconds)
        self._token_ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def _routes(self, router: web.UrlDispatcher) -> None:
        embed = "{model}:{method:embedContent|batchEmbedContents}"
        router.add_post(f"/{{version:v1beta|v1|v1alpha}}/models/{embed}", self._gemini_embed)
        vertex = "/v1/projects/{project}/locations/{location}/publishers/google/models/{tail}"
        router.add_post(vertex.replace("{tail}", "{model}:predict"), self._vertex_predict)
        router.add_post("/{version:v1beta|v1|v1alpha}/models/{tail}", self._gemini)
        router.add_post(vertex, self._vertex)
        router.add_post("/token", self._token)

    def _refuse(self, record: RecordedRequest) -> web.StreamResponse | None:
        return None  # keys and tokens are checked by each route

    def _not_found(self, request: web.Request) -> web.StreamResponse:
        message = f"The requested URL {request.path} was not found on this server."
        return _status(Status(404, body=error_body(404, message)))

    # -- service accounts and tokens -----------------------------------------------------------

    def register_account(self, email: str, key_id: str, public_key: rsa.RSAPublicKey) -> None:
        self.accounts[email] = _Account(key_id, public_key)

    def service_account(
        self, directory: pathlib.Path, project: str = "fake-project"
    ) -> pathlib.Path:
        """A new RSA key registered here, written as a service-account key file in `directory`."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        n = len(self.accounts)
        email, key_id = f"relay-{n}@{project}.iam.gserviceaccount.com", f"key{n}"
        self.register_account(email, key_id, key.public_key())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()  # fmt: skip
        info = {"type": "service_account", "project_id": project, "private_key_id": key_id,
                "private_key": pem, "client_email": email, "client_id": "1",
                "token_uri": self.token_url}  # fmt: skip
        path = directory / f"service-account-{n}.json"
        path.write_text(json.dumps(info))
        return path

    def revoke_tokens(self) -> None:
        """Every token granted so far is refused from now on."""
        self._tokens.clear()

    def _grant_problem(self, form: Mapping[str, str]) -> str | None:
        if form.get("grant_type") != JWT_GRANT:
            return f"grant_type must be {JWT_GRANT}"
        pieces = form.get("assertion", "").split(".")
        try:
            header, claims = (json.loads(_b64decode(p)) for p in pieces[:2])
            signature = _b64decode(pieces[2])
        except (ValueError, IndexError):
            return "Invalid JWT: the assertion is not a signed JWT"
        account = self.accounts.get(claims.get("iss"))
        if header.get("alg") != "RS256" or header.get("typ") != "JWT" or account is None:
            return "Invalid JWT: unknown issuer or algorithm"
        if header.get("kid") != account.key_id:
            return "Invalid JWT Signature: unknown key id"
        try:
            account.public_key.verify(signature, f"{pieces[0]}.{pieces[1]}".encode(),
                                      padding.PKCS1v15(), hashes.SHA256())  # fmt: skip
        except InvalidSignature:
            return "Invalid JWT Signature."
        now, iat, exp = time.time(), claims.get("iat"), claims.get("exp")
        if claims.get("aud") not in (self.token_url, GOOGLE_TOKEN_URI) or SCOPE not in str(
            claims.get("scope")
        ).split(" "):
            return "Invalid JWT: wrong audience or scope"
        if not (isinstance(iat, int) and isinstance(exp, int) and 0 < exp - iat <= 3600):
            return "Invalid JWT: iat and exp must be integers at most an hour apart"
        if iat > now + 300 or exp < now:
            return "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe"
        account.grants.append(claims)
        return None

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests.increment()
        form = dict(urllib.parse.parse_qsl(request[_RECORD].raw.decode(errors="replace")))
        problem = self._grant_problem(form)
        if problem is not None:
            return _json({"error": "invalid_grant", "error_description": problem}, 400)
        token = f"ya29.fake-token-{next(self._token_ids)}"
        self._tokens[token] = time.time() + self.token_expires_in
        return _json({"access_token": token, "expires_in": self.token_expires_in,
                      "token_type": "Bearer"})  # fmt: skip

    # -- model requests ------------------------------------------------------------------------

    async def _gemini(self, request: web.Request) -> web.StreamResponse:
        headers, query = request[_RECORD].headers, request.query
        if self.api_key is not None:
            key = headers.get("x-goog-api-key") or query.get("key")
            if key is None:
                return _status(Status(403))
            if key != self.api_key:
                reason = {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                          "reason": "API_KEY_INVALID", "domain": "googleapis.com"}  # fmt: skip
                message = "API key not valid. Please pass a valid API key."
                return _status(Status(400, body=error_body(400, message, details=[reason])))
        return await self._generate(request)

    async def _gemini_embed(self, request: web.Request) -> web.StreamResponse:
        key = request[_RECORD].headers.get("x-goog-api-key") or request.query.get("key")
        if self.api_key is not None and key != self.api_key:
            return _status(Status(403))
        info = request.match_info
        return await fake_embeddings.gemini_embeddings(request, info["model"], info["method"])

    async def _vertex_predict(self, request: web.Request) -> web.StreamResponse:
        token = request[_RECORD].headers.get("authorization", "").removeprefix("Bearer ")
        if self._tokens.get(token, 0) < time.time():
            return _status(Status(401))
        return await fake_embeddings.vertex_predict(request)

    async def _vertex(self, request: web.Request) -> web.StreamResponse:
        token = request[_RECORD].headers.get("authorization", "").removeprefix("Bearer ")
        if self._tokens.get(token, 0) < time.time():
            return _status(Status(401))
        return await self._generate(request)

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["tail"].partition(":")
        body = request[_RECORD].body
        if method not in ("generateContent", "streamGenerateContent"):
            return _status(Status(404, body=error_body(404, f"unknown method {method!r}")))
        stream = method == "streamGenerateContent"
        if stream and request.query.get("alt") != "sse":
            return _status(Status(400, body=error_body(400, "this fake streams only alt=sse")))
        if not isinstance(body, dict) or not body.get("contents"):
            return _status(Status(400, body=error_body(400, "contents is not specified")))
        call = _Call(model, stream, f"fake-response-{next(self._ids)}")
        behaviour = self._queue.popleft() if self._queue else self.default
        try:
            return await self._answer(request, behaviour, call)
        except ConnectionResetError:
            self._client_gone()
            return web.Response()

    async def _answer(
        self, request: web.Request, behaviour: Any, call: _Call
    ) -> web.StreamResponse:
        if isinstance(behaviour, Status):
            return _status(behaviour)
        if isinstance(behaviour, Many):
            behaviour = behaviour.reply()
        if isinstance(behaviour, Reply | Answer):
            answer = _answer(behaviour)
            if not call.stream:
                return _json(call.whole(answer))
            response = await _open_stream(request)
            for event in itertools.chain(*call.events(answer)):
                await response.write(event)
            return response
        if not isinstance(behaviour, CutStream | StreamThenError):
            raise TypeError(f"FakeGemini cannot play {behaviour!r}")
        answer = _answer(behaviour.reply)
        if isinstance(behaviour, CutStream) and not call.stream:
            return await self._truncated(request, call.whole(answer))
        response = await _open_stream(request)
        for event in call.events(answer)[0][: behaviour.chunks]:
            await response.write(event)
        if isinstance(behaviour, CutStream):
            return _drop(request)
        error = dict(behaviour.error)
        if not isinstance(error.get("code"), int) or not error.get("status"):
            error = error_body(500, error.get("message"))["error"]
        await response.write(_sse({"error": error}))
        return response
