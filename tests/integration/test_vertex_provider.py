"""`VertexAI` against `FakeGemini`: the service-account token, its cache, expiry and refresh."""

from __future__ import annotations

import base64
import json
import pathlib
import stat
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from llmrelay.errors import (
    InvalidRequestError,
    LLMRelayError,
    MissingAuthError,
    UnsupportedParameterError,
)
from llmrelay.Provider.vertex import VertexAI
from llmrelay.providers.auth_cache import write_json_atomic
from support.fake_gemini import SCOPE, FakeGemini
from support.fake_openai import Reply, Status
from support.proxies import HttpProxy, Socks5Proxy

pytestmark = pytest.mark.integration

USER = [{"role": "user", "content": "Hi"}]
EMAIL = "relay@test-project.iam.gserviceaccount.com"


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def fake(private_key: rsa.RSAPrivateKey) -> AsyncIterator[FakeGemini]:
    async with FakeGemini() as server:
        server.register_account(EMAIL, "key-1", private_key.public_key())
        yield server


@pytest.fixture
def key_file(
    tmp_path: pathlib.Path, fake: FakeGemini, private_key: rsa.RSAPrivateKey
) -> pathlib.Path:
    info = {"type": "service_account", "project_id": "test-project", "private_key_id": "key-1",
            "private_key": pem(private_key), "client_email": EMAIL, "client_id": "42",
            "token_uri": fake.token_url}  # fmt: skip
    path = tmp_path / "key.json"
    path.write_text(json.dumps(info))
    return path


@pytest.fixture(autouse=True)
def environment(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT",
                 "GOOGLE_CLOUD_LOCATION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLMRELAY_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


async def ask(
    fake: FakeGemini, key_file: pathlib.Path | None, model: str = "", **params: Any
) -> str:
    params = {"api_base": fake.base_url, "max_retries": 0, **params}
    if key_file is not None:
        params["credentials"] = str(key_file)
    create = VertexAI.get_async_create_function()
    return "".join([c async for c in create(model, USER, **params) if isinstance(c, str)])


def read(path: pathlib.Path) -> str:
    return path.read_text()


def write(path: pathlib.Path, text: str) -> None:
    path.write_text(text)


def cache_files(cache: pathlib.Path) -> list[pathlib.Path]:
    return sorted(cache.glob("auth_VertexAI*.json"))


def claims(assertion: str) -> dict[str, Any]:
    payload = assertion.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def test_token_is_fetched_once_then_cached(
    fake: FakeGemini, key_file: pathlib.Path, environment: pathlib.Path
) -> None:
    assert await ask(fake, key_file) == "Hello world"
    assert await ask(fake, key_file, stream=False) == "Hello world"
    assert fake.token_requests.value == 1
    token, first, second = fake.requests
    assert token.path == "/token"
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    prefix = "/v1/projects/test-project/locations/us-central1/publishers/google/models/"
    assert first.path == prefix + "gemini-2.5-flash:streamGenerateContent"
    assert first.query == {"alt": "sse"}
    assert second.path == prefix + "gemini-2.5-flash:generateContent"
    assert first.headers["authorization"] == second.headers["authorization"]
    assert first.headers["authorization"].startswith("Bearer ya29.fake-token-")
    [grant] = fake.accounts[EMAIL].grants
    assert (grant["iss"], grant["aud"], grant["scope"]) == (EMAIL, fake.token_url, SCOPE)
    assert grant["exp"] - grant["iat"] == 3600


async def test_the_cache_file_is_private_and_never_holds_the_key(
    fake: FakeGemini, key_file: pathlib.Path, environment: pathlib.Path
) -> None:
    await ask(fake, key_file)
    [path] = cache_files(environment)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = read(path)
    key = json.loads(read(key_file))["private_key"]
    assert "PRIVATE KEY" not in content
    assert "private_key" not in content
    assert key.splitlines()[1] not in content  # not a line of the PEM either
    assert set(json.loads(content)) == {"access_token", "token_type", "expires_at"}
    assert EMAIL not in path.name  # the account is named by a hash


async def test_a_token_near_its_expiry_is_replaced(
    fake: FakeGemini, key_file: pathlib.Path, environment: pathlib.Path
) -> None:
    fake.token_expires_in = 20  # inside the 30 s refresh margin: never reused
    await ask(fake, key_file)
    await ask(fake, key_file)
    assert fake.token_requests.value == 2
    fake.token_expires_in = 3600
    await ask(fake, key_file)
    [path] = cache_files(environment)
    data = json.loads(path.read_text())
    assert 3500 < data["expires_at"] - time.time() <= 3600
    write_json_atomic(path, {**data, "expires_at": time.time() - 1})  # expired on disk
    await ask(fake, key_file)
    assert fake.token_requests.value == 4
    await ask(fake, key_file)
    assert fake.token_requests.value == 4


async def test_a_refused_token_is_replaced_once(fake: FakeGemini, key_file: pathlib.Path) -> None:
    await ask(fake, key_file)
    fake.revoke_tokens()  # the model endpoint now answers 401 to the cached token
    assert await ask(fake, key_file) == "Hello world"
    assert fake.token_requests.value == 2
    statuses = [r.path.rsplit(":", 1)[-1] for r in fake.requests]
    assert statuses == ["/token", "streamGenerateContent", "streamGenerateContent", "/token",
                        "streamGenerateContent"]  # fmt: skip


async def test_an_account_refused_twice_is_an_auth_error(
    fake: FakeGemini, key_file: pathlib.Path
) -> None:
    fake.script(Status(401))
    with pytest.raises(MissingAuthError) as info:
        await ask(fake, key_file)  # a token just granted and refused: no second try
    assert info.value.status_code == 401
    assert fake.token_requests.value == 1
    fake.script(Status(401), Status(401))
    with pytest.raises(MissingAuthError):
        await ask(fake, key_file)  # the cached token, then one replacement
    assert fake.token_requests.value == 2


async def test_two_accounts_keep_their_own_tokens(
    fake: FakeGemini, key_file: pathlib.Path, tmp_path: pathlib.Path, environment: pathlib.Path
) -> None:
    other = fake.service_account(tmp_path, project="other-project")
    for path in (key_file, other, key_file, other):
        await ask(fake, path)
    assert fake.token_requests.value == 2
    assert len(cache_files(environment)) == 2
    tokens = {r.path.split("/")[3]: r.headers["authorization"]
              for r in fake.requests if r.path != "/token"}  # fmt: skip
    assert tokens.keys() == {"test-project", "other-project"}
    assert len(set(tokens.values())) == 2


async def test_a_bad_signature_is_refused_by_the_token_endpoint(
    fake: FakeGemini, key_file: pathlib.Path
) -> None:
    info = json.loads(read(key_file))
    info["private_key"] = pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    write(key_file, json.dumps(info))
    with pytest.raises(MissingAuthError, match=r"invalid_grant.*Invalid JWT Signature") as error:
        await ask(fake, key_file)
    assert error.value.status_code == 400
    assert len(fake.requests) == 1  # the model was never asked


async def test_project_and_location_precedence(
    fake: FakeGemini, key_file: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-project")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
    await ask(fake, None)
    assert fake.requests[-1].path.startswith("/v1/projects/env-project/locations/europe-west4/")
    await ask(fake, None, project="arg-project", location="global", model="gemini-2.0-flash")
    assert fake.requests[-1].path == (
        "/v1/projects/arg-project/locations/global/publishers/google/models/"
        "gemini-2.0-flash:streamGenerateContent"
    )


async def test_missing_or_unusable_credentials_fail_before_any_request(
    fake: FakeGemini, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(MissingAuthError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        await ask(fake, None)
    user_creds = tmp_path / "adc.json"
    user_creds.write_text(json.dumps({"type": "authorized_user", "refresh_token": "r"}))
    with pytest.raises(MissingAuthError, match="'authorized_user'"):
        await ask(fake, user_creds)
    with pytest.raises(MissingAuthError, match="cannot read"):
        await ask(fake, tmp_path / "nowhere.json")
    with pytest.raises(InvalidRequestError, match="project or location"):
        await ask(fake, None, credentials={"client_email": EMAIL, "private_key": "x",
                                           "project_id": "p"}, location="us/../x")  # fmt: skip
    with pytest.raises(UnsupportedParameterError, match="api_key"):
        await ask(fake, None, api_key="k")
    assert fake.requests == []


async def test_a_key_that_is_not_rsa_is_refused(fake: FakeGemini) -> None:
    info = {"client_email": EMAIL, "private_key": "-----BEGIN PRIVATE KEY-----\nnope\n",
            "project_id": "p", "token_uri": fake.token_url}  # fmt: skip
    with pytest.raises(MissingAuthError, match="not an RSA key") as error:
        await ask(fake, None, credentials=info)
    assert "nope" not in str(error.value)
    assert fake.requests == []


async def test_tools_and_answers_use_the_gemini_format(
    fake: FakeGemini, key_file: pathlib.Path
) -> None:
    fake.script(Reply("{}", usage=True))
    format_ = {"type": "json_object"}
    await ask(fake, key_file, response_format=format_, temperature=0.5)
    assert fake.requests[-1].body["generationConfig"] == {
        "temperature": 0.5,
        "responseMimeType": "application/json",
    }


@pytest.mark.parametrize("kind", ["http", "socks5"])
async def test_the_token_and_the_answer_go_through_the_proxy(
    fake: FakeGemini, key_file: pathlib.Path, kind: str
) -> None:
    proxy_class = HttpProxy if kind == "http" else Socks5Proxy
    target = fake.base_url.removeprefix("http://")
    async with proxy_class("user", "s3cret-pass") as proxy:
        token = await VertexAI.on_auth_async(credentials=str(key_file), proxy=proxy.url)
        assert token.access_token.startswith("ya29.")
        assert proxy.connections == [target]
    async with proxy_class("user", "s3cret-pass") as proxy:
        assert await ask(fake, key_file, proxy=proxy.url) == "Hello world"
        assert set(proxy.connections) == {target}
    assert fake.token_requests.value == 2
    async with proxy_class("user", "s3cret-pass") as proxy:
        wrong = proxy.url.replace("s3cret-pass", "wrong-pass")
        with pytest.raises(LLMRelayError) as error:
            await ask(fake, key_file, proxy=wrong, stream=False)
        assert "wrong-pass" not in str(error.value)
