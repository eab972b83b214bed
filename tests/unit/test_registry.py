"""Providers by name: built-ins, and third-party ones found through the entry-point group."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from llmrelay.client import Client
from llmrelay.errors import ProviderNotFoundError
from llmrelay.providers import registry


@pytest.fixture
def installed_plugin(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A distribution on sys.path that registers `support.story_providers:StreamStory` as
    `ThirdPartyStory`, as an installed package's entry_points.txt would."""
    info = tmp_path / "thirdparty_story-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-story\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[llmrelay.providers]\nThirdPartyStory = support.story_providers:StreamStory\n"
        "NotAProvider = pathlib:Path\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._entry_points.cache_clear()
    yield "ThirdPartyStory"
    registry._entry_points.cache_clear()


def test_entry_point_provider_is_found_by_name(installed_plugin: str) -> None:
    from support.story_providers import StreamStory

    assert registry.provider_by_name(installed_plugin) is StreamStory
    assert installed_plugin in registry.all_provider_names()
    completion = Client(provider=installed_plugin).chat.completions.create(
        model="", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content  # type: ignore[union-attr]


def test_entry_point_that_is_not_a_provider_is_refused(installed_plugin: str) -> None:
    with pytest.raises(ProviderNotFoundError, match="not a llmrelay provider class"):
        registry.provider_by_name("NotAProvider")


def test_unknown_name_lists_the_built_ins() -> None:
    with pytest.raises(ProviderNotFoundError, match=r"built-in providers: .*Anthropic"):
        registry.provider_by_name("NoSuchProvider")
    assert "Groq" in registry.all_provider_names()
