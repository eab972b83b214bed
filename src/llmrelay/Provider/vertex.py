"""`VertexAI`: Gemini on Google Cloud's Vertex AI, authenticated with a service-account key.

Credentials: the key file's path from `credentials=` (or the parsed key as a dict), else
`GOOGLE_APPLICATION_CREDENTIALS`. Project: `project=`, else `GOOGLE_CLOUD_PROJECT`, else the
key's `project_id` (the precedence of google-auth). Location: `location=`, else
`GOOGLE_CLOUD_LOCATION`, else `us-central1` (`global` uses the global endpoint).

Authentication (`on_auth_async`): a JWT (RS256; header `kid` = the key's `private_key_id`;
claims `iss` = `client_email`, `scope` = cloud-platform, `aud` = `token_uri`, `iat`, `exp` one
hour later) signed with the key's `private_key` through the `cryptography` package
(`pip install 'llmrelay[vertex]'`), exchanged at the key's `token_uri` for an access token.
The `AuthResult` holds only `access_token`, `token_type` and `expires_at`: never the key. It is
cached per service account (`auth_VertexAI_<hash of client_email and key id>-<hash>.json`, mode
0600), reused until 30 s before it expires, and replaced once when the model endpoint answers
401 before any output. The wire format is Gemini's (`protocols.gemini`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..errors import (
    InvalidRequestError,
    LLMRelayError,
    MissingAuthError,
    MissingRequirementsError,
    ResponseError,
)
from ..protocols.gemini.upstream_request import build_payload, model_path
from ..providers.asyncio import to_async_iterator
from ..providers.auth_cache import cache_file
from ..providers.base_provider import AsyncAuthedProvider, ProviderModelMixin, RaiseErrorMixin
from ..providers.cache import BoundedCache
from ..providers.media import load_media
from ..providers.response import AuthResult
from ..transport.http import (
    DEFAULT_MAX_RETRIES,
    Request,
    Timeouts,
    check_max_retries,
    open_response,
    read_json,
)
from ..typing import AsyncResult, MediaListType, Messages
from .gemini import IMAGE_MODELS, VISION_MODELS, generate
from .google_embeddings import VertexEmbeddings

__all__ = ["ServiceAccount", "VertexAI", "load_service_account", "signed_assertion"]

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
_NAME = re.compile(r"[a-z][a-z0-9-]*")  # locations; projects also allow ':' and '.' (domains)
_PROJECT = re.compile(r"[a-z][a-z0-9.:-]*")


@dataclass(frozen=True)
class ServiceAccount:
    """The parts of a service-account key that are used (the key itself never shown)."""

    client_email: str
    private_key: str = field(repr=False)
    private_key_id: str | None
    token_uri: str
    project_id: str | None

    @property
    def cache_key(self) -> str:
        """Names this account (and key) in the token cache without revealing it."""
        identity = f"{self.client_email}\0{self.private_key_id}".encode()
        return hashlib.sha256(identity).hexdigest()[:16]


def load_service_account(
    credentials: str | os.PathLike[str] | Mapping[str, Any] | None,
) -> ServiceAccount:
    """The key from `credentials` (a path, or the parsed key file) or
    `GOOGLE_APPLICATION_CREDENTIALS`; `MissingAuthError` if there is none or it is unusable."""
    source = (
        credentials if credentials is not None else os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    )
    if not source:
        raise MissingAuthError(
            "VertexAI needs a service-account key: set GOOGLE_APPLICATION_CREDENTIALS to the key "
            "file's path, or pass credentials='/path/to/key.json'",
            provider="VertexAI",
        )
    if isinstance(source, Mapping):
        info: Any = source
    else:
        try:
            info = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MissingAuthError(
                f"cannot read the service-account key file {os.fspath(source)!r}: "
                f"{type(exc).__name__}",
                provider="VertexAI",
            ) from None
    if not isinstance(info, Mapping) or info.get("type", "service_account") != "service_account":
        kind = info.get("type") if isinstance(info, Mapping) else type(info).__name__
        raise MissingAuthError(
            f"VertexAI needs a service-account key (type 'service_account'), not {kind!r}",
            provider="VertexAI",
        )
    missing = [k for k in ("client_email", "private_key") if not isinstance(info.get(k), str)]
    if missing:
        raise MissingAuthError(f"the service-account key lacks {missing}", provider="VertexAI")
    return ServiceAccount(
        client_email=info["client_email"],
        private_key=info["private_key"],
        private_key_id=info.get("private_key_id") or None,
        token_uri=info.get("token_uri") or DEFAULT_TOKEN_URI,
        project_id=info.get("project_id") or None,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_assertion(account: ServiceAccount, now: float | None = None) -> str:
    """The JWT-bearer assertion for `account`, valid for an hour from `now`."""
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
    except ImportError as exc:
        raise MissingRequirementsError(
            "VertexAI signs its token requests with the 'cryptography' package: "
            "pip install 'llmrelay[vertex]'",
            provider="VertexAI",
        ) from exc
    try:
        key = serialization.load_pem_private_key(account.private_key.encode(), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise MissingAuthError(
            f"the private key of {account.client_email} is not an RSA key in PEM form",
            provider="VertexAI",
        )
    issued = int(time.time() if now is None else now)
    header = {"alg": "RS256", "typ": "JWT"}
    if account.private_key_id:
        header["kid"] = account.private_key_id
    claims = {"iss": account.client_email, "scope": SCOPE, "aud": account.token_uri,
              "iat": issued, "exp": issued + 3600}  # fmt: skip
    signing_input = ".".join(_b64(json.dumps(p, separators=(",", ":")).encode())
                             for p in (header, claims))  # fmt: skip
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


#: (provider class, account) → the subclass whose token cache is that account's.
_SCOPED: BoundedCache[tuple[type, str], type[VertexAI]] = BoundedCache(maxsize=32)


class VertexAI(VertexEmbeddings, AsyncAuthedProvider, ProviderModelMixin, RaiseErrorMixin):
    """Gemini on Vertex AI with a service-account key."""

    label = "Google Vertex AI (Gemini)"
    url = "https://cloud.google.com/vertex-ai"
    working = True
    needs_auth = True
    supports_stream = True
    supports_system_message = True
    supports_message_history = True
    default_model = "gemini-2.5-flash"
    vision_models: ClassVar[tuple[str, ...]] = VISION_MODELS
    image_models: ClassVar[tuple[str, ...]] = IMAGE_MODELS
    default_location: ClassVar[str] = "us-central1"
    #: What configures it (a service-account key file), for routing by model name.
    api_key_env: ClassVar[tuple[str, ...]] = ("GOOGLE_APPLICATION_CREDENTIALS",)
    #: Set on the per-account subclasses `_for_account` makes: names the token cache file.
    _account_key: ClassVar[str | None] = None

    @classmethod
    def get_cache_file(cls) -> Path:
        name = getattr(cls, "parent", None) or "VertexAI"
        return cache_file(f"{name}_{cls._account_key}" if cls._account_key else name)

    @classmethod
    def _for_account(cls, account: ServiceAccount) -> type[VertexAI]:
        """This class bound to one service account's token cache."""
        key = (cls, account.cache_key)
        scoped = _SCOPED.get(key)
        if scoped is None:
            attrs = {"_account_key": account.cache_key, "__module__": cls.__module__,
                     "__qualname__": cls.__qualname__, "__doc__": cls.__doc__}  # fmt: skip
            scoped = _SCOPED.put(key, type(cls.__name__, (cls,), attrs))
        return scoped

    @classmethod
    def get_model(cls, model: str, **kwargs: Any) -> str:
        return cls.resolve_model(model.removeprefix("models/") if model else model, cls.models)

    @classmethod
    def _create_signature_source(cls) -> Any:
        return cls.create_async_generator

    @classmethod
    def model_url(
        cls, model: str, project: str, location: str, api_base: str | None, stream: bool
    ) -> str:
        if not _PROJECT.fullmatch(project) or not _NAME.fullmatch(location):
            raise InvalidRequestError(
                f"invalid Vertex AI project or location: {project!r}, {location!r}",
                provider=cls.__name__,
            )
        host = "aiplatform.googleapis.com" if location == "global" else (
            f"{location}-aiplatform.googleapis.com")  # fmt: skip
        base = (api_base or f"https://{host}").rstrip("/").removesuffix("/v1")
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        name = model_path(model).removeprefix("models/")
        return (f"{base}/v1/projects/{project}/locations/{location}/publishers/google/models/"
                f"{name}:{method}")  # fmt: skip

    @classmethod
    async def create_async_generator(  # type: ignore[override]
        cls,
        model: str,
        messages: Messages,
        stream: bool = True,
        timeout: float | Timeouts | None = None,
        proxy: str | None = None,
        media: MediaListType | None = None,
        response_format: dict[str, Any] | None = None,
        seed: int | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        credentials: str | os.PathLike[str] | dict[str, Any] | None = None,
        project: str | None = None,
        location: str | None = None,
        api_base: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        max_tokens: int | None = None,
        stop: str | list[str] | None = None,
        thinking_budget: int | None = None,
        web_search: bool = False,
    ) -> AsyncResult:
        """Stream (or, with `stream=False`, fetch) an answer; everything is checked before any
        I/O, then the cached token (or a new one) is used."""
        check_max_retries(max_retries, cls.__name__)  # the token request does not carry it
        account = load_service_account(credentials)
        project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or account.project_id
        if not project:
            raise InvalidRequestError(
                "VertexAI needs a project: pass project=…, set GOOGLE_CLOUD_PROJECT, or use a "
                "key file with a project_id",
                provider=cls.__name__,
            )
        location = location or os.environ.get("GOOGLE_CLOUD_LOCATION") or cls.default_location
        model = cls.get_model(model)
        url = cls.model_url(model, project, location, api_base, stream)
        payload = build_payload(
            model, messages, media=load_media(media), tools=tools, tool_choice=tool_choice,
            response_format=response_format, temperature=temperature, top_p=top_p, top_k=top_k,
            max_tokens=max_tokens, stop=stop, seed=seed, thinking_budget=thinking_budget,
            web_search=web_search,
        )  # fmt: skip
        timeouts = Timeouts.from_param(timeout)
        scoped = cls._for_account(account)
        chunks = super(VertexAI, scoped)._authed_chunks(
            model, messages, account=account, url=url, payload=payload, stream=stream,
            timeouts=timeouts, proxy=proxy, max_retries=max_retries,
        )  # fmt: skip
        async with aclosing(to_async_iterator(chunks)) as each:
            async for chunk in each:
                yield chunk

    @classmethod
    async def on_auth_async(
        cls,
        *,
        account: ServiceAccount | None = None,
        credentials: str | os.PathLike[str] | dict[str, Any] | None = None,
        timeouts: Timeouts | None = None,
        timeout: float | None = None,
        proxy: str | None = None,
        **_: Any,
    ) -> AuthResult:
        """Exchange a signed JWT for an access token at the key's `token_uri`."""
        account = account or load_service_account(credentials)
        assertion = signed_assertion(account)
        request = Request(
            provider=cls.__name__, proxy=proxy,
            timeouts=timeouts or Timeouts.from_param(timeout), secrets=(assertion,),
            form={"grant_type": JWT_GRANT, "assertion": assertion},
        )  # fmt: skip
        try:
            async with open_response("POST", account.token_uri, request) as response:
                body = await read_json(response, request)
        except ResponseError as exc:
            raise cls._token_error(account, exc) from None
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise MissingAuthError("the token endpoint sent no access_token", provider=cls.__name__)
        expires_in = body.get("expires_in")
        lifetime = expires_in if isinstance(expires_in, int | float) and expires_in > 0 else 3600
        return AuthResult(access_token=token, token_type=body.get("token_type") or "Bearer",
                          expires_at=time.time() + lifetime)  # fmt: skip

    @classmethod
    def _token_error(cls, account: ServiceAccount, error: ResponseError) -> LLMRelayError:
        """OAuth's `{"error", "error_description"}` for a refused grant is an auth error."""
        body = error.body
        if error.status_code not in (400, 401, 403) or not isinstance(body, Mapping):
            return error
        detail = body.get("error_description")
        return MissingAuthError(
            f"the token endpoint refused the service account {account.client_email}: "
            f"{body.get('error')}" + (f" ({detail})" if detail else ""),
            status_code=error.status_code, provider=cls.__name__, body=body,
        )  # fmt: skip

    @classmethod
    async def create_authed(  # type: ignore[override]
        cls,
        model: str,
        messages: Messages,
        auth_result: AuthResult,
        *,
        account: ServiceAccount,
        url: str,
        payload: dict[str, Any],
        stream: bool,
        timeouts: Timeouts,
        proxy: str | None,
        max_retries: int,
    ) -> AsyncResult:
        token = auth_result.access_token
        if not isinstance(token, str) or not token:
            raise MissingAuthError("the cached token is unusable", provider=cls.__name__)
        headers = {"Authorization": f"Bearer {token}"}
        if stream:
            headers["Accept"] = "text/event-stream"
        request = Request(
            provider=cls.__name__, headers=headers, json=payload, proxy=proxy,
            timeouts=timeouts, max_retries=max_retries, secrets=(token,),
        )  # fmt: skip
        async with aclosing(generate(cls, url, request, stream=stream)) as chunks:
            async for chunk in chunks:
                yield chunk
