"""A local fake of four image APIs on one port, for tests, each in its documented wire format:

- OpenAI Images: ``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits``
  (multipart), answering ``{"created", "data": [{"url" | "b64_json", "revised_prompt"}]}``; URLs
  point at ``GET /files/{name}`` on the fake. ``Authorization: Bearer`` checked.
- Gemini API: ``POST /v1beta/models/{model}:predict`` (Imagen:
  ``predictions[].bytesBase64Encoded``) and ``:generateContent``
  (``candidates[].content.parts[].inlineData``). ``x-goog-api-key`` checked.
- Hugging Face ``hf-inference``: ``POST /hf-inference/models/{owner}/{name}`` → the image bytes.
- Pollinations: ``GET /prompt/{prompt}?…`` → the image bytes (no key).

Every route serves ``fake.image`` (a real 1x1 PNG by default). A ``Status`` queued with
``fake.script(...)`` answers the next request instead. ``fake.hostile = True`` makes result URLs
and download headers carry ``../`` file names. Requests are recorded as in ``FakeOpenAI``;
``fake.forms`` holds each edit's multipart fields (the file as ``(filename, content_type, bytes)``).
"""

from __future__ import annotations

import base64
import email
import email.policy
import struct
import time
import zlib
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from support.fake_gemini import error_body as gemini_error
from support.fake_openai import Behaviour, FakeOpenAI, Status, _json, _status


def png(width: int = 1, height: int = 1) -> bytes:
    """A valid RGB PNG of the given size (black)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))  # fmt: skip


PNG = png()


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body's fields, parsed by the standard library's MIME parser (the
    middleware has read the body already): files as (filename, content type, bytes)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.message_from_bytes(head + raw, policy=email.policy.HTTP)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        filename = part.get_filename()
        if filename is None:
            fields[str(name)] = payload.decode() if isinstance(payload, bytes) else payload
        else:
            fields[str(name)] = (filename, part.get_content_type(), payload)
    return fields


class FakeImages(FakeOpenAI):
    """The fake server; see the module docstring."""

    def __init__(
        self,
        *,
        models: Sequence[str] = (),
        api_key: str | None = None,
        default: Behaviour | None = None,
    ) -> None:
        super().__init__(models=models, default=default)
        self.key = api_key  # checked by each route in its API's way
        self.image = PNG
        self.image_type = "image/png"
        self.hostile = False
        self.forms: list[dict[str, Any]] = []

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def _routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/images/generations", self._generations)
        router.add_post("/v1/images/edits", self._edits)
        router.add_get("/files/{name}", self._file)
        router.add_post("/v1beta/models/{tail}", self._gemini)
        vertex = "/v1/projects/{project}/locations/{location}/publishers/google/models/{tail}"
        router.add_post(vertex, self._gemini)  # the same body shapes (the SDK's Imagen route)
        router.add_post("/hf-inference/models/{model:.+}", self._hf)
        router.add_get("/prompt/{prompt}", self._pollinations)

    def _refuse(self, record: Any) -> web.StreamResponse | None:
        return None

    def _scripted(self) -> web.StreamResponse | None:
        if self._queue:
            behaviour = self._queue.popleft()
            if isinstance(behaviour, Status):
                return _status(behaviour)
        return None

    def _bearer_ok(self, request: web.Request) -> bool:
        return self.key is None or request.headers.get("Authorization") == f"Bearer {self.key}"

    def _bytes(self, **headers: str) -> web.Response:
        if self.hostile:
            headers["Content-Disposition"] = 'attachment; filename="../../../evil.sh"'
        return web.Response(body=self.image, headers={"Content-Type": self.image_type, **headers})

    # -- OpenAI ---------------------------------------------------------------------------------

    def _openai_answer(self, model: str, n: int, response_format: str | None) -> dict[str, Any]:
        data: list[dict[str, Any]] = []
        for index in range(n):
            if model.startswith("gpt-image") or response_format == "b64_json":
                item: dict[str, Any] = {"b64_json": base64.b64encode(self.image).decode()}
            else:
                name = "..%2F..%2Fevil.png" if self.hostile else f"img-{index}.png"
                item = {"url": f"{self.root}/files/{name}"}
            if model == "dall-e-3":
                item["revised_prompt"] = "a revised prompt"
            data.append(item)
        answer: dict[str, Any] = {"created": int(time.time()), "data": data}
        if model.startswith("gpt-image"):
            details = {"image_tokens": 0, "text_tokens": 10}
            answer["usage"] = {"input_tokens": 10, "output_tokens": 100, "total_tokens": 110,
                               "input_tokens_details": details}  # fmt: skip
        return answer

    async def _generations(self, request: web.Request) -> web.StreamResponse:
        if not self._bearer_ok(request):
            return _status(Status(401))
        scripted = self._scripted()
        if scripted is not None:
            return scripted
        body = await request.json()
        return _json(self._openai_answer(body.get("model", "dall-e-2"), body.get("n", 1),
                                         body.get("response_format")))  # fmt: skip

    async def _edits(self, request: web.Request) -> web.StreamResponse:
        if not self._bearer_ok(request):
            return _status(Status(401))
        scripted = self._scripted()
        if scripted is not None:
            return scripted
        fields = _multipart(request.headers.get("Content-Type", ""), await request.read())
        self.forms.append(fields)
        if "image" not in fields and "image[]" not in fields:
            return _status(Status(400))
        n = int(str(fields.get("n", 1)))
        return _json(self._openai_answer(str(fields.get("model", "dall-e-2")), n,
                                         fields.get("response_format")))  # fmt: skip

    async def _file(self, request: web.Request) -> web.StreamResponse:
        return self._bytes()

    # -- Gemini ---------------------------------------------------------------------------------

    async def _gemini(self, request: web.Request) -> web.StreamResponse:
        vertex = "project" in request.match_info  # Vertex AI takes a token, checked elsewhere
        if (
            not vertex
            and self.key is not None
            and request.headers.get("x-goog-api-key") != self.key
        ):
            body = gemini_error(400, "API key not valid. Please pass a valid API key.")
            return _status(Status(400, body=body))
        scripted = self._scripted()
        if scripted is not None:
            return scripted
        model, _, method = request.match_info["tail"].partition(":")
        body = await request.json()
        data = base64.b64encode(self.image).decode()
        if method == "predict":
            count = body.get("parameters", {}).get("sampleCount", 1)
            return _json({"predictions": [{"bytesBase64Encoded": data, "mimeType": self.image_type}
                                          for _ in range(count)]})  # fmt: skip
        if method != "generateContent":
            return self._not_found(request)
        parts = [{"text": "Here is your image."},
                 {"inlineData": {"mimeType": self.image_type, "data": data}}]  # fmt: skip
        return _json({
            "candidates": [{"content": {"role": "model", "parts": parts},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1290,
                              "totalTokenCount": 1295},
            "modelVersion": model,
        })  # fmt: skip

    # -- Hugging Face and Pollinations ----------------------------------------------------------

    async def _hf(self, request: web.Request) -> web.StreamResponse:
        if not self._bearer_ok(request):
            return _json({"error": "Invalid credentials in Authorization header"}, 401)
        scripted = self._scripted()
        return scripted if scripted is not None else self._bytes()

    async def _pollinations(self, request: web.Request) -> web.StreamResponse:
        scripted = self._scripted()
        return scripted if scripted is not None else self._bytes()
