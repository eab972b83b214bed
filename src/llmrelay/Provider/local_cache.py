"""The loaded llama.cpp models of `LocalLlama`, kept per process and bounded.

A model is loaded once per (path, context size, mode) and kept until `MAX_LOADED_MODELS`
newer loads push it out (least recently used first). The mode is part of the identity
because llama.cpp computes embeddings only in a context created with `embedding=True`:
a chat load and an embedding load of the same file are two entries. Each loaded model has one
lock, so concurrent requests queue for it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidRequestError, MissingRequirementsError

__all__ = [
    "DEFAULT_CONTEXT",
    "INSTALL_HINT",
    "MAX_LOADED_MODELS",
    "LoadedModel",
    "import_llama",
    "models",
]

#: Models kept loaded per process (least recently used is dropped first).
MAX_LOADED_MODELS = 2
DEFAULT_CONTEXT = 4096
INSTALL_HINT = "pip install 'llmrelay[local]'"


def import_llama() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise MissingRequirementsError(
            f"LocalLlama needs llama-cpp-python: {INSTALL_HINT}", provider="LocalLlama"
        ) from exc
    return llama_cpp


@dataclass(eq=False)
class LoadedModel:
    """A loaded model, its lock (one generation at a time) and a count of sampled tokens."""

    llama: Any
    path: Path
    embedding: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: int = 0


def _load(path: Path, n_ctx: int, embedding: bool) -> Any:
    llama_cpp = import_llama()
    options: dict[str, Any] = {"model_path": str(path), "n_ctx": n_ctx, "verbose": False}
    if embedding:  # a whole input is read in one batch: up to the context size
        options.update(embedding=True, n_batch=n_ctx, n_ubatch=n_ctx)
    try:
        llama = llama_cpp.Llama(**options)
        if embedding and llama.pooling_type() == llama_cpp.LLAMA_POOLING_TYPE_NONE:
            # A model that names no pooling (a chat model): the mean of its token vectors.
            # (llama-cpp-python's per-token vectors are not usable: they are not pooled here.)
            llama.close()
            llama = llama_cpp.Llama(**options, pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN)
    except ValueError as exc:  # llama.cpp could not read it
        raise InvalidRequestError(
            f"cannot load {path} as a GGUF model: {exc}", provider="LocalLlama"
        ) from exc
    return llama


class _ModelCache:
    """Loaded models by (path, context size, embedding mode), at most `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._models: OrderedDict[tuple[str, int, bool], LoadedModel] = OrderedDict()

    def get(self, path: Path, n_ctx: int, embedding: bool = False) -> LoadedModel:
        key = (str(path), n_ctx, embedding)
        with self._lock:
            loaded = self._models.get(key)
            if loaded is None:
                llama = _load(path, n_ctx, embedding)
                loaded = LoadedModel(llama, path, embedding)
                self._models[key] = loaded
                while len(self._models) > self.limit:
                    self._models.popitem(last=False)  # freed once its last user is done
            self._models.move_to_end(key)
            return loaded

    def loaded(self) -> list[LoadedModel]:
        with self._lock:
            return list(self._models.values())

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


models = _ModelCache(MAX_LOADED_MODELS)
