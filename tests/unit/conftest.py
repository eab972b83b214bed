"""Unit-test fixtures: every test gets its own auth cache directory."""

from __future__ import annotations

import pathlib

import pytest


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("LLMRELAY_CACHE_DIR", str(directory))
    return directory
