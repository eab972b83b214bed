"""The provider framework of the spec (`shared/spec/base_provider.md`), compatible with g4f's.

A provider is a class with classmethods. Write one of:

* `AbstractProvider.create_completion` — a sync generator (the rest is derived);
* `AsyncProvider.create_async` — a coroutine returning the whole answer;
* `AsyncGeneratorProvider.create_async_generator` — an async generator of chunks (preferred);
* `AsyncAuthedProvider.create_authed` plus `on_auth_async` — the same, with cached credentials.

and every entry point works: `create_completion` (sync, streaming or not), `create_async`,
`get_create_function()` and `get_async_create_function()`. Each entry point validates the
messages and the parameters before any I/O, and honours `timeout` as the deadline for the whole
answer. Sync entry points run async code through the bridge in `providers.asyncio`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
import time
from abc import abstractmethod
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import aclosing
from pathlib import Path
from typing import Any, ClassVar, NoReturn, TypeVar, cast

from ..errors import (
    LLMRelayError,
    MissingAuthError,
    ModelNotFoundError,
    TotalTimeoutError,
    UnsupportedParameterError,
    error_from_body,
)
from ..typing import AsyncResult, CreateResult, Messages
from .asyncio import (
    run_in_executor,
    run_sync,
    timeout_seconds,
    to_async_iterator,
    to_sync_generator,
    with_timeout,
)
from .auth_cache import cache_file, read_json, write_json_atomic
from .messages import validate_messages
from .response import AuthResult, collect_text, concat_chunks
from .types import BaseProvider, ProviderMeta

__all__ = [
    "PARAMETER_EXAMPLES",
    "SAFE_PARAMETERS",
    "AbstractProvider",
    "AsyncAuthedProvider",
    "AsyncGeneratorProvider",
    "AsyncProvider",
    "AuthFileMixin",
    "ProviderModelMixin",
    "RaiseErrorMixin",
]

T = TypeVar("T")

#: The spec's parameter vocabulary, plus the sampling parameters every chat API shares.
SAFE_PARAMETERS = (
    "model", "messages", "stream", "timeout", "proxy", "media", "response_format",
    "conversation", "seed", "tools", "api_key", "api_base", "max_retries", "web_search",
    "guidance_scale", "num_inference_steps", "randomize_seed", "safe", "enhance", "private",
    "aspect_ratio", "n",
    "temperature", "top_p", "top_k", "max_tokens", "stop", "presence_penalty",
    "frequency_penalty", "tool_choice", "user", "prompt", "negative_prompt", "width", "height",
    "thinking", "think", "thinking_budget",
)  # fmt: skip

#: Example values for `get_parameters(as_json=True)` where a default says too little.
PARAMETER_EXAMPLES: Mapping[str, Any] = {
    "messages": [{"role": "system", "content": ""}, {"role": "user", "content": ""}],
    "proxy": "http://user:password@127.0.0.1:3128",
    "media": [["data:image/jpeg;base64,...", "filename.jpg"]],
    "response_format": {"type": "json_object"},
    "conversation": {"conversation_id": "550e8400-e29b-11d4-a716-...", "message_id": "..."},
    "seed": 42,
    "tools": [],
    "temperature": 1,
    "top_p": 1,
    "max_tokens": 4096,
    "stop": ["stop1", "stop2"],
    "width": 1024,
    "height": 1024,
    "timeout": 120,
}

_ZERO_BY_TYPE: Mapping[str, Any] = {
    "int": 0, "float": 0.0, "bool": False, "str": "", "dict": {}, "list": [], "Messages": [],
}  # fmt: skip


def _example_value(name: str, param: inspect.Parameter) -> Any:
    if param.default is not inspect.Parameter.empty and param.default is not None:
        return param.default
    if name in PARAMETER_EXAMPLES:
        return PARAMETER_EXAMPLES[name]
    annotation = param.annotation
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    head = str(text).replace("Optional[", "").split("|")[0].split("[")[0].strip()
    return _ZERO_BY_TYPE.get(head)


_FRAMEWORK_MANAGED = frozenset({"timeout", "stream"})


@functools.lru_cache(maxsize=1024)
def _signature(func: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(func)


@functools.lru_cache(maxsize=1024)
def _accepted(func: Callable[..., Any]) -> frozenset[str] | None:
    """The keyword names `func` takes, or None when it takes any (`**kwargs`)."""
    params = _signature(func).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return frozenset(params)


def _checked_kwargs(
    provider: type[BaseProvider], func: Callable[..., Any], messages: Any, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Validate `messages` and refuse keyword arguments `func` cannot take. `timeout` and
    `stream` are dropped instead when `func` has no place for them: the framework enforces the
    deadline itself, and a provider without `stream` always streams."""
    validate_messages(messages)
    params = _accepted(func)
    if params is None or kwargs.keys() <= params:
        return kwargs
    kwargs = {k: v for k, v in kwargs.items() if k in params or k not in _FRAMEWORK_MANAGED}
    unknown = sorted(kwargs.keys() - params)
    if unknown:
        accepted = sorted(params - {"cls", "self", "model", "messages"})
        raise UnsupportedParameterError(
            f"unsupported parameter(s) {unknown}; {provider.__name__} accepts {accepted}",
            provider=provider.__name__,
        )
    return kwargs


async def _on_loop(coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop | None) -> T:
    """Await `coro` here, or on `loop` when that is another (running) loop."""
    if loop is None or loop is asyncio.get_running_loop():
        return await coro
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


def _timeout_error(provider: type[BaseProvider], timeout: float) -> TotalTimeoutError:
    return TotalTimeoutError(f"no complete answer within {timeout} s", provider=provider.__name__)


def _guard(provider: type[AbstractProvider], name: str) -> None:
    """Make `provider.<name>` (the create function a subclass wrote) check its arguments and
    honour `timeout` itself, so that `get_async_create_function()` can return that very method,
    as g4f's does, and still refuse bad input before any I/O."""
    raw = provider.__dict__.get(name)
    func = getattr(raw, "__func__", raw)
    if (
        not callable(func)
        or getattr(func, "__isabstractmethod__", False)
        or getattr(func, "_llmrelay_guarded", False)
    ):
        return
    takes_cls = not isinstance(raw, staticmethod)
    bounded = _bounded_generator if name == "create_async_generator" else _bounded_coroutine

    @functools.wraps(func)
    def guarded(cls: type[AbstractProvider], model: str, messages: Messages, *args: Any,
                timeout: Any = None, **kwargs: Any) -> Any:  # fmt: skip
        if timeout is not None:
            kwargs["timeout"] = timeout
        # The function that really takes the parameters: for an authed provider, create_authed.
        kwargs = _checked_kwargs(cls, cls._create_signature_source(), messages, kwargs)
        deadline = timeout_seconds(timeout)
        result = func(cls, model, messages, *args, **kwargs) if takes_cls else (
            func(model, messages, *args, **kwargs))  # fmt: skip
        return result if deadline is None else bounded(cls, result, deadline)

    guarded._llmrelay_guarded = True  # type: ignore[attr-defined]
    if not takes_cls:  # report the static function's own parameters (after a `cls`)
        signature = _signature(func)
        first = inspect.Parameter("cls", inspect.Parameter.POSITIONAL_ONLY)
        guarded.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[first, *signature.parameters.values()]
        )
    setattr(provider, name, classmethod(cast(Any, guarded)))


def _bounded_generator(cls: type[BaseProvider], agen: Any, deadline: float) -> AsyncResult:
    return with_timeout(agen, deadline, name=cls.__name__)


async def _bounded_coroutine(cls: type[BaseProvider], coro: Any, deadline: float) -> Any:
    try:
        return await asyncio.wait_for(coro, deadline)
    except TimeoutError as exc:
        if isinstance(exc, LLMRelayError):
            raise
        raise _timeout_error(cls, deadline) from exc


class AbstractProvider(BaseProvider):
    """A provider written as a sync `create_completion`; everything else is derived from it."""

    #: The create function subclasses write that checks its own arguments (see `_guard`).
    _guarded_method: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls._guarded_method is not None:
            _guard(cls, cls._guarded_method)

    @classmethod
    @abstractmethod
    def create_completion(
        cls, model: str, messages: Messages, stream: bool = False, **kwargs: Any
    ) -> CreateResult:
        """Yield the answer's chunks (text, or typed chunks from `providers.response`)."""
        raise NotImplementedError

    @classmethod
    async def create_async(
        cls,
        model: str,
        messages: Messages,
        *,
        timeout: float | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        executor: Executor | None = None,
        **kwargs: Any,
    ) -> str:
        """The whole answer as text, without blocking the caller's event loop.

        The sync `create_completion` runs in `executor` (the loop's default when None) on
        `loop` (the running loop when None), always given `stream` (False, unless the caller
        passed it); `timeout` bounds the wait (`TotalTimeoutError`).
        """
        kwargs.setdefault("stream", False)
        kwargs = _checked_kwargs(cls, cls.create_completion, messages, kwargs)
        deadline = timeout_seconds(timeout)

        def create() -> str:
            return concat_chunks(cls.create_completion(model, messages, **kwargs))

        job = run_in_executor(create, executor=executor)
        try:
            return await asyncio.wait_for(_on_loop(job, loop), deadline)
        except TimeoutError as exc:
            if isinstance(exc, LLMRelayError) or deadline is None:
                raise
            raise _timeout_error(cls, deadline) from exc

    @classmethod
    def get_create_function(cls) -> Callable[..., CreateResult]:
        return cls.create_completion

    @classmethod
    def get_async_create_function(cls) -> Callable[..., Any]:
        """`create_async` (a coroutine of the answer text); `create_async_generator` (an async
        iterator of chunks) on `AsyncGeneratorProvider` — the methods themselves, as in g4f."""
        return cls.create_async

    @classmethod
    def _create_signature_source(cls) -> Callable[..., Any]:
        return cls.create_completion

    @classmethod
    def get_parameters(cls, as_json: bool = False) -> dict[str, Any]:
        """The create function's parameters among `SAFE_PARAMETERS` (`inspect.Parameter`s), or
        with `as_json=True` a JSON-ready dict of example values, led by provider and model."""
        params = {
            name: param
            for name, param in _signature(cls._create_signature_source()).parameters.items()
            if name in SAFE_PARAMETERS and (name != "stream" or cls.supports_stream)
        }
        if not as_json:
            return params
        examples: dict[str, Any] = {
            "provider": cls.__name__,
            "model": getattr(cls, "default_model", None) or "",
            "messages": PARAMETER_EXAMPLES["messages"],
            "stream": cls.supports_stream,
        }
        for name, param in params.items():
            if name not in ("model", "stream"):
                examples[name] = _example_value(name, param)
        if not cls.supports_system_message:
            examples["messages"] = examples["messages"][-1:]
        return examples


class AsyncProvider(AbstractProvider):
    """A provider written as a coroutine `create_async` returning the whole answer. The
    `create_async` a subclass writes checks its arguments and honours `timeout` (`_guard`)."""

    _guarded_method = "create_async"

    @classmethod
    def create_completion(
        cls, model: str, messages: Messages, stream: bool = False, **kwargs: Any
    ) -> CreateResult:
        """Run `create_async` for a sync caller; yield its answer as one chunk."""
        _checked_kwargs(cls, cls.create_async, messages, kwargs)  # fail now, not when iterated

        def answer() -> Iterator[str]:
            yield run_sync(cls.create_async(model, messages, **kwargs))

        return answer()

    @classmethod
    @abstractmethod
    async def create_async(cls, model: str, messages: Messages, **kwargs: Any) -> str:
        """Return the whole answer."""
        raise NotImplementedError

    @classmethod
    def _create_signature_source(cls) -> Callable[..., Any]:
        return cls.create_async


class AsyncGeneratorProvider(AbstractProvider):
    """A provider written as an async generator `create_async_generator` of chunks. The
    `create_async_generator` a subclass writes checks its arguments before any I/O and is
    bounded by `timeout` (`TotalTimeoutError`), see `_guard`."""

    supports_stream = True
    _guarded_method = "create_async_generator"

    @classmethod
    def create_completion(
        cls,
        model: str,
        messages: Messages,
        stream: bool = True,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> CreateResult:
        """Iterate `create_async_generator` from sync code (works inside a running loop too)."""
        agen = cls.create_async_generator(model, messages, stream=stream, timeout=timeout, **kwargs)
        return to_sync_generator(agen, name=cls.__name__)

    @classmethod
    async def create_async(
        cls,
        model: str,
        messages: Messages,
        *,
        timeout: float | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        executor: Executor | None = None,
        **kwargs: Any,
    ) -> str:
        """The whole answer as text. Runs natively on the event loop; with an `executor`, the
        sync path runs there instead (as `AbstractProvider.create_async`)."""
        if executor is not None:
            return await super().create_async(
                model, messages, timeout=timeout, loop=loop, executor=executor, **kwargs
            )
        kwargs.setdefault("stream", False)
        agen = cls.create_async_generator(model, messages, timeout=timeout, **kwargs)
        return await _on_loop(collect_text(agen), loop)

    @staticmethod
    @abstractmethod
    def create_async_generator(model: str, messages: Messages, **kwargs: Any) -> AsyncResult:
        """Yield the answer's chunks."""
        raise NotImplementedError

    @classmethod
    def get_async_create_function(cls) -> Callable[..., AsyncResult]:
        return cls.create_async_generator

    @classmethod
    def _create_signature_source(cls) -> Callable[..., Any]:
        return cls.create_async_generator


class ProviderModelMixin(metaclass=ProviderMeta):
    """Model metadata and resolution. Class attributes are immutable defaults: never mutate
    them at run time (per-request state is `last_model`, a context-local property)."""

    default_model: ClassVar[str | None] = None
    models: ClassVar[Sequence[str]] = ()
    model_aliases: ClassVar[Mapping[str, str | Sequence[str]]] = {}
    image_models: ClassVar[Sequence[str]] = ()
    vision_models: ClassVar[Sequence[str]] = ()

    @classmethod
    def get_models(cls, **kwargs: Any) -> list[str]:
        """Every model the provider serves (empty when it accepts any name)."""
        models = list(dict.fromkeys([*cls.models, *cls.image_models, *cls.vision_models]))
        if not models and cls.default_model:
            models = [cls.default_model]
        return models

    @classmethod
    def supports_vision(cls, model: str = "") -> bool:
        """Whether `model` (default: the default model) takes images as input."""
        return _listed(cls, model, cls.vision_models)

    @classmethod
    def makes_images(cls, model: str = "") -> bool:
        """Whether `model` (default: the default model) makes images."""
        return _listed(cls, model, cls.image_models)

    @classmethod
    def get_model(cls, model: str, **kwargs: Any) -> str:
        """Resolve `model`: empty → `default_model`; aliases followed (a list alias picks one
        at random); a model the provider does not list → `ModelNotFoundError`. Sets
        `last_model` for the current request."""
        return cls.resolve_model(model, cls.get_models(**kwargs))

    @classmethod
    def resolve_model(cls, model: str, known: Sequence[str]) -> str:
        """`get_model` against the given list of `known` models (empty: any model)."""
        if not model:
            if not cls.default_model:
                raise ModelNotFoundError(
                    f"no model given and {cls.__name__} has no default model",
                    provider=cls.__name__,
                )
            model = cls.default_model
        target = cls.model_aliases.get(model, model)
        resolved = target if isinstance(target, str) else random.choice(list(target))
        if known and resolved not in known:
            shown = ", ".join(known[:30]) + (", …" if len(known) > 30 else "")
            raise ModelNotFoundError(
                f"model {model!r} is not served by {cls.__name__}; its models: {shown}",
                provider=cls.__name__,
            )
        cls.last_model = resolved  # context-local, see ProviderMeta
        return resolved


def _listed(cls: type[ProviderModelMixin], model: str, listed: Sequence[str]) -> bool:
    """`model` (alias followed; a tag such as `:13b` ignored) is in `listed`."""
    name = model or cls.default_model or ""
    target = cls.model_aliases.get(name, name)
    name = target if isinstance(target, str) else name
    return name in listed or name.split(":", 1)[0] in listed


class RaiseErrorMixin:
    """Turn an error body into the matching exception (the table in `llmrelay.errors`)."""

    @classmethod
    def raise_error(
        cls,
        data: Any,
        status: int | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str | None] = (),
    ) -> None:
        """Raise if `data` is an error (OpenAI, Anthropic, Gemini or g4f shape, or a string) or
        `status` is 400 or more; return quietly otherwise, so it can vet every chunk."""
        if (status is None or status < 400) and not _is_error_body(data):
            return
        _raise(error_from_body(data, status, provider=_name(cls), headers=headers, secrets=secrets))


def _raise(error: LLMRelayError) -> NoReturn:
    raise error


def _name(cls: type) -> str | None:
    return None if cls is RaiseErrorMixin else cls.__name__


def _is_error_body(data: Any) -> bool:
    if type(data) is dict or isinstance(data, Mapping):  # a dict first: the ABC check is slow
        return (
            data.get("error") not in (None, False, "")
            or "error_message" in data
            or data.get("type") == "error"
            or data.get("object") == "error"  # vLLM, FastChat
        )
    if isinstance(data, str):
        return True
    if isinstance(data, list):
        return bool(data) and _is_error_body(data[0]) and not isinstance(data[0], str)
    return False


class AuthFileMixin:
    """Where a provider caches its authentication (see `providers.auth_cache`)."""

    @classmethod
    def get_cache_file(cls) -> Path:
        """`<cache dir>/auth_<parent or class name>-<hash>.json`, inside the cache directory;
        one file per exact name (see `auth_cache.cache_file`)."""
        return cache_file(getattr(cls, "parent", None) or cls.__name__)


#: Credentials are refreshed this many seconds before they expire.
EXPIRY_MARGIN = 30.0


class AsyncAuthedProvider(AsyncGeneratorProvider, AuthFileMixin):
    """A provider whose calls need credentials obtained by `on_auth_async` and cached on disk.

    Subclasses write `create_authed(model, messages, auth_result, **kwargs)` and
    `on_auth_async(**kwargs)`. A call reads the cached `AuthResult`; if there is none, it is
    corrupt or expired (`expires_at`, epoch seconds), or the authed call raises
    `MissingAuthError` before yielding anything, it authenticates once, writes the cache and
    tries once more. A second failure is raised.
    """

    @classmethod
    async def on_auth_async(cls, **kwargs: Any) -> AuthResult:
        """Authenticate: return an `AuthResult`, or be an async generator yielding chunks for
        the user (`RequestLogin`, …) and then the `AuthResult`. The default takes `api_key`."""
        if not kwargs.get("api_key"):
            raise MissingAuthError(
                f"an API key is required for {cls.__name__}", provider=cls.__name__
            )
        return AuthResult(api_key=kwargs["api_key"])

    @classmethod
    def on_auth(cls, **kwargs: Any) -> AuthResult:
        """Authenticate from sync code; returns the `AuthResult`."""
        result = None
        for chunk in to_sync_generator(cls._auth_chunks(**kwargs), name=cls.__name__):
            if isinstance(chunk, AuthResult):
                result = chunk
        if result is None:
            raise MissingAuthError(f"{cls.__name__} produced no AuthResult", provider=cls.__name__)
        return result

    @classmethod
    def write_cache_file(cls, cache_file: Path, auth_result: AuthResult | None = None) -> None:
        """Write `auth_result` to `cache_file` atomically with mode 0600 (nothing if None)."""
        if auth_result is None:
            return
        data = auth_result.get_dict()
        bad = sorted(k for k, v in data.items() if not _json_ready(v))
        if bad:
            raise LLMRelayError(
                f"cannot cache the AuthResult of {cls.__name__}: field(s) {bad} are not JSON",
                provider=cls.__name__,
            )
        write_json_atomic(cache_file, data)

    @classmethod
    def get_auth_result(cls) -> AuthResult | None:
        """The cached `AuthResult`, or None when missing, corrupt or expired."""
        data = read_json(cls.get_cache_file())
        if data is None:
            return None
        expires_at = data.get("expires_at")
        if isinstance(expires_at, int | float) and expires_at <= time.time() + EXPIRY_MARGIN:
            return None
        return AuthResult(**data)

    @classmethod
    @abstractmethod
    def create_authed(
        cls, model: str, messages: Messages, auth_result: AuthResult, **kwargs: Any
    ) -> AsyncResult:
        """Yield the answer's chunks using `auth_result`; raise `MissingAuthError` if refused."""
        raise NotImplementedError

    @classmethod
    async def _auth_chunks(cls, **kwargs: Any) -> AsyncGenerator[Any, None]:
        async for chunk in to_async_iterator(cls.on_auth_async(**kwargs)):
            yield chunk

    @classmethod
    def create_async_generator(cls, model: str, messages: Messages, **kwargs: Any) -> AsyncResult:
        return cls._authed_chunks(model, messages, **kwargs)

    @classmethod
    async def _authed_chunks(cls, model: str, messages: Messages, **kwargs: Any) -> AsyncResult:
        """`create_authed` with the cached credentials, authenticating first when needed
        (`kwargs` already checked against `create_authed`)."""
        auth_result = cls.get_auth_result()
        if auth_result is not None:
            delivered = False
            try:
                async with aclosing(
                    to_async_iterator(cls.create_authed(model, messages, auth_result, **kwargs))
                ) as chunks:
                    async for chunk in chunks:
                        delivered = True
                        yield chunk
                return
            except MissingAuthError:
                if delivered:
                    raise
        auth_result = None
        async with aclosing(cls._auth_chunks(**kwargs)) as auth_chunks:
            async for chunk in auth_chunks:
                if isinstance(chunk, AuthResult):
                    auth_result = chunk
                else:
                    yield chunk
        if auth_result is None:
            raise MissingAuthError(f"{cls.__name__} produced no AuthResult", provider=cls.__name__)
        cls.write_cache_file(cls.get_cache_file(), auth_result)
        async with aclosing(
            to_async_iterator(cls.create_authed(model, messages, auth_result, **kwargs))
        ) as chunks:
            async for chunk in chunks:
                yield chunk

    @classmethod
    def _create_signature_source(cls) -> Callable[..., Any]:
        return cls.create_authed


def _json_ready(value: Any) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(_json_ready(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _json_ready(v) for k, v in value.items())
    return False
