"""AuthFileMixin and AsyncAuthedProvider: where credentials are cached, and when re-auth runs."""

from __future__ import annotations

import json
import os
import pathlib
import stat
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llmrelay.errors import LLMRelayError, MissingAuthError, UnsupportedParameterError
from llmrelay.providers.auth_cache import cache_file, read_json, write_json_atomic
from llmrelay.providers.base_provider import AsyncAuthedProvider, AuthFileMixin
from llmrelay.providers.response import AuthResult, RequestLogin, concat_chunks
from support.story_providers import VALID_TOKEN, AuthedStory

MESSAGES = [{"role": "user", "content": "hi"}]


def test_cache_file_lives_in_the_configured_directory(cache_dir: pathlib.Path) -> None:
    path = AuthedStory.get_cache_file()
    assert path.parent == cache_dir
    assert path.name.startswith("auth_AuthedStory-")
    assert path.suffix == ".json"


def test_names_map_to_files_injectively(cache_dir: pathlib.Path) -> None:
    names = ["acme.ai", "acme_ai", "acme ai", "acme-ai", "ACME.ai", "acme/ai", "x" * 64 + "y"]
    names.append("x" * 64 + "z")
    assert len({cache_file(name) for name in names}) == len(names)
    assert cache_file("acme.ai") == cache_file("acme.ai")


def test_a_long_name_gives_a_usable_file(cache_dir: pathlib.Path) -> None:
    path = cache_file("n" * 300)
    write_json_atomic(path, {"token": "t"})
    assert read_json(path) == {"token": "t"}
    assert len(path.name) < 120


@pytest.mark.parametrize("name", ["../../etc/passwd", "/abs/path", "..", "a/../../b", "~root", ""])
def test_provider_names_cannot_escape_the_cache_directory(
    cache_dir: pathlib.Path, name: str
) -> None:
    class Sneaky(AuthFileMixin):
        parent = name

    path = Sneaky.get_cache_file()
    assert path.parent == cache_dir
    assert ".." not in path.name.removeprefix("auth_")
    assert os.path.realpath(path).startswith(str(cache_dir))


def test_written_file_is_0600_and_atomic(cache_dir: pathlib.Path) -> None:
    path = cache_file("X")
    write_json_atomic(path, {"token": "t1"})
    write_json_atomic(path, {"token": "t2"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert read_json(path) == {"token": "t2"}
    assert sorted(p.name for p in cache_dir.iterdir()) == [path.name]  # no temp files left


def test_a_write_replaces_the_file_never_rewrites_it_in_place(cache_dir: pathlib.Path) -> None:
    """A reader that opened the old file keeps reading the old, whole content (a rename), and a
    file left readable by others becomes 0600 (a new file, not the old one rewritten)."""
    path = cache_file("X")
    write_json_atomic(path, {"token": "old"})
    path.chmod(0o644)
    with path.open(encoding="utf-8") as reader:
        write_json_atomic(path, {"token": "new" * 100})
        assert json.load(reader) == {"token": "old"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_json(path) == {"token": "new" * 100}


def test_failed_write_leaves_the_old_file_and_no_temp_file(cache_dir: pathlib.Path) -> None:
    path = cache_file("X")
    write_json_atomic(path, {"token": "old"})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"token": object()})
    assert read_json(path) == {"token": "old"}
    assert [p.name for p in cache_dir.iterdir()] == [path.name]


def run(provider: type[AsyncAuthedProvider]) -> list[Any]:
    return list(provider.create_completion("", MESSAGES))


def test_missing_cache_authenticates_and_writes_the_cache() -> None:
    chunks = run(AuthedStory)
    assert isinstance(chunks[0], RequestLogin)  # on_auth_async's chunks reach the caller
    assert concat_chunks(chunks)
    cached = read_json(AuthedStory.get_cache_file())
    assert cached is not None
    assert cached["token"] == VALID_TOKEN
    assert stat.S_IMODE(AuthedStory.get_cache_file().stat().st_mode) == 0o600


def test_valid_cache_is_reused_without_authenticating() -> None:
    run(AuthedStory)
    chunks = run(AuthedStory)
    assert not any(isinstance(c, RequestLogin) for c in chunks)


@pytest.mark.parametrize(
    "content", ["{not json", "[1, 2]", "", "\xff\xfe", '{"token": "revoked-token"}']
)
def test_corrupt_or_refused_cache_leads_to_reauthentication(content: str) -> None:
    path = AuthedStory.get_cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="latin-1")
    chunks = run(AuthedStory)
    assert isinstance(chunks[0], RequestLogin)
    assert concat_chunks(chunks)
    assert read_json(path) is not None
    assert read_json(path)["token"] == VALID_TOKEN  # type: ignore[index]


def test_expired_cache_leads_to_reauthentication() -> None:
    write_json_atomic(
        AuthedStory.get_cache_file(), {"token": VALID_TOKEN, "expires_at": time.time() - 1}
    )
    assert AuthedStory.get_auth_result() is None
    assert isinstance(run(AuthedStory)[0], RequestLogin)


class AlwaysRefused(AsyncAuthedProvider):
    auth_calls = 0

    @classmethod
    async def on_auth_async(cls, **kwargs: Any) -> AuthResult:
        cls.auth_calls += 1
        return AuthResult(token="never-good")

    @classmethod
    async def create_authed(  # type: ignore[override]
        cls, model: str, messages: Any, auth_result: AuthResult, **kwargs: Any
    ) -> AsyncIterator[str]:
        raise MissingAuthError("refused", status_code=401)
        yield ""


def test_second_auth_failure_is_raised_not_looped_on() -> None:
    write_json_atomic(AlwaysRefused.get_cache_file(), {"token": "stale"})
    with pytest.raises(MissingAuthError, match="refused"):
        run(AlwaysRefused)
    assert AlwaysRefused.auth_calls == 1


class FailsMidStream(AsyncAuthedProvider):
    auth_calls = 0

    @classmethod
    async def on_auth_async(cls, **kwargs: Any) -> AuthResult:
        cls.auth_calls += 1
        return AuthResult(token="t")

    @classmethod
    async def create_authed(  # type: ignore[override]
        cls, model: str, messages: Any, auth_result: AuthResult, **kwargs: Any
    ) -> AsyncIterator[str]:
        yield "partial"
        raise MissingAuthError("session ended")


def test_auth_failure_after_output_is_not_retried() -> None:
    write_json_atomic(FailsMidStream.get_cache_file(), {"token": "t"})
    seen: list[Any] = []
    with pytest.raises(MissingAuthError):
        seen.extend(FailsMidStream.create_completion("", MESSAGES))
    assert seen == ["partial"]  # no duplicate text from a second attempt
    assert FailsMidStream.auth_calls == 0


def test_default_on_auth_needs_an_api_key() -> None:
    class KeyOnly(AsyncAuthedProvider):
        @classmethod
        async def create_authed(  # type: ignore[override]
            cls, model: str, messages: Any, auth_result: AuthResult, **kwargs: Any
        ) -> AsyncIterator[str]:
            yield f"key ends {auth_result.api_key[-2:]}"

    with pytest.raises(MissingAuthError, match="API key is required"):
        KeyOnly.on_auth()
    assert KeyOnly.on_auth(api_key="abc12").api_key == "abc12"
    assert "".join(KeyOnly.create_completion("", MESSAGES, api_key="abc12")) == "key ends 12"


def test_on_auth_sync_returns_the_auth_result() -> None:
    result = AuthedStory.on_auth()
    assert result.token == VALID_TOKEN
    assert VALID_TOKEN not in repr(result)  # credentials never shown


def test_auth_result_that_is_not_json_is_refused_clearly() -> None:
    with pytest.raises(LLMRelayError, match=r"field\(s\) \['session'\]"):
        AuthedStory.write_cache_file(cache_file("x"), AuthResult(session=object()))


def test_cache_is_written_as_json_object(cache_dir: pathlib.Path) -> None:
    run(AuthedStory)
    data = json.loads(AuthedStory.get_cache_file().read_text())
    assert set(data) == {"token", "expires_at"}


def test_authed_provider_refuses_parameters_its_create_authed_does_not_take() -> None:
    class Strict(AsyncAuthedProvider):
        @classmethod
        async def create_authed(  # type: ignore[override]
            cls, model: str, messages: Any, auth_result: AuthResult, seed: int | None = None
        ) -> AsyncIterator[str]:
            yield "x"

    with pytest.raises(UnsupportedParameterError, match=r"\['temperature'\]"):
        Strict.create_completion("", MESSAGES, temperature=1)
