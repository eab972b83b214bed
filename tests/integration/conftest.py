"""Fixtures for integration tests that talk to real servers on loopback."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from support.llama_server import running_llama_server
from support.tiny_gguf import write_tiny_llama


@pytest.fixture(scope="session")
def tiny_llama_path(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A tiny random llama GGUF model (seed 0), written once per session."""
    return write_tiny_llama(tmp_path_factory.mktemp("models") / "tiny-llama.gguf", seed=0)


@pytest.fixture(scope="session")
def llama_server_url(tiny_llama_path: pathlib.Path) -> Iterator[str]:
    """Base URL ``http://127.0.0.1:PORT/v1`` of a llama-cpp-python server; model ``tiny-llama``."""
    with running_llama_server(tiny_llama_path) as base_url:
        yield base_url
