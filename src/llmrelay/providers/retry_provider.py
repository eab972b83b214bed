"""Failover across providers: `IterListProvider` and `RetryProvider` (as in g4f).

A failover provider tries its providers in turn (shuffled per call if `shuffle`). A provider
that fails — raises, or ends without producing anything — before its first chunk reached the
caller is recorded and the next one is tried; once a chunk was delivered, an error is raised
as it is (a second provider would repeat text the caller already has).

* The caller's own mistakes (invalid messages or parameters, an unsupported parameter, a bad
  timeout) are raised at once, as themselves: every provider would refuse them.
* `timeout` bounds the whole call: each provider gets what is left of it.
* When every provider fails: with one failure, that exception itself (as g4f); else one
  `RetryProviderError` listing each, whose `status_code` sums them up (all rate limited → 429
  with the smallest `retry_after`; all refused credentials → 401; see `errors`).

The provider that answered is announced by a `ProviderInfo` chunk just before its first chunk,
and is `last_provider` for the current request (context-local, like `last_model`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from typing import Any

from ..errors import (
    InvalidRequestError,
    ModelNotFoundError,
    ProviderNotFoundError,
    ResponseError,
    RetryNoProviderError,
    RetryProviderError,
    TotalTimeoutError,
)
from ..typing import AsyncResult, CreateResult, Messages
from .asyncio import (
    propagate_context_var,
    timeout_seconds,
    to_async_iterator,
    to_sync_generator,
    with_timeout,
)
from .messages import validate_messages
from .response import FinishReason, ProviderInfo, ResponseType, Usage
from .types import BaseProvider, BaseRetryProvider

__all__ = ["IterListProvider", "RetryProvider"]

log = logging.getLogger("llmrelay.failover")

# Weak keys: remembering who answered must not keep a failover provider made per call alive.
_last_provider: contextvars.ContextVar[
    weakref.WeakKeyDictionary[BaseRetryProvider, type[BaseProvider]] | None
] = contextvars.ContextVar("llmrelay_last_provider", default=None)
propagate_context_var(_last_provider)

# Chunks that carry no answer: a provider that produced only these produced nothing.
_BOOKKEEPING = (FinishReason, Usage, ProviderInfo)


def _name(provider: Any) -> str:
    return str(getattr(provider, "__name__", type(provider).__name__))


def _callers_fault(exc: BaseException) -> bool:
    """An error every provider would raise alike: the request itself is wrong. (A model or
    provider one of them does not know is not: the next may know it.)"""
    return isinstance(exc, InvalidRequestError) and not isinstance(
        exc, ModelNotFoundError | ProviderNotFoundError
    )


class IterListProvider(BaseRetryProvider):
    """Try each provider once, in order (or shuffled), until one answers."""

    def __init__(self, providers: list[type[BaseProvider]], shuffle: bool = True) -> None:
        super().__init__(providers, shuffle)
        self.__name__ = type(self).__name__

    @property
    def last_provider(self) -> type[BaseProvider] | None:
        """The provider that answered the current request (task or thread)."""
        mapping = _last_provider.get()
        return None if mapping is None else mapping.get(self)

    @last_provider.setter
    def last_provider(self, provider: type[BaseProvider] | None) -> None:
        mapping: weakref.WeakKeyDictionary[BaseRetryProvider, type[BaseProvider]] = (
            weakref.WeakKeyDictionary(_last_provider.get() or {})
        )
        if provider is None:
            mapping.pop(self, None)
        else:
            mapping[self] = provider
        _last_provider.set(mapping)

    def _attempts(self) -> list[type[BaseProvider]]:
        if not self.providers:
            raise RetryNoProviderError(f"{self.__name__} has no providers to try")
        return (
            random.sample(self.providers, len(self.providers)) if self.shuffle else self.providers
        )

    async def _candidates(self, model: str, kwargs: dict[str, Any]) -> list[type[BaseProvider]]:
        """The providers to try for this call, in order."""
        return self._attempts()

    def get_create_function(self) -> Callable[..., CreateResult]:  # type: ignore[override]
        return self.create_completion

    def get_async_create_function(self) -> Callable[..., AsyncResult]:  # type: ignore[override]
        return self.create_async_generator

    def create_completion(
        self, model: str, messages: Messages, stream: bool = False, **kwargs: Any
    ) -> Iterator[str | ResponseType]:
        """The sync stream, through the bridge."""
        validate_messages(messages)
        return to_sync_generator(
            self.create_async_generator(model, messages, stream=stream, **kwargs),
            name=self.__name__,
        )

    def create_async_generator(
        self, model: str, messages: Messages, stream: bool = True, **kwargs: Any
    ) -> AsyncIterator[str | ResponseType]:
        """Failover over the providers, bounded as a whole by `timeout` (checked here, before
        any I/O, as the messages are)."""
        validate_messages(messages)
        total = timeout_seconds(kwargs.get("timeout"))
        chunks = self._failover(model, messages, stream, kwargs, total)
        return chunks if total is None else with_timeout(chunks, total, name=self.__name__)

    async def _failover(
        self,
        model: str,
        messages: Messages,
        stream: bool,
        kwargs: dict[str, Any],
        total: float | None,
    ) -> AsyncIterator[str | ResponseType]:
        loop = asyncio.get_running_loop()
        deadline = None if total is None else loop.time() + total
        exceptions: dict[str, BaseException] = {}
        for attempt, provider in enumerate(await self._candidates(model, kwargs), 1):
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    exceptions[_name(provider)] = TotalTimeoutError(
                        f"not tried: the {total} s timeout had passed", provider=_name(provider)
                    )
                    break
                kwargs = {**kwargs, "timeout": _left(kwargs["timeout"], left)}
            failures: dict[str, BaseException] = {}
            async for chunk in self._try(provider, model, messages, stream, kwargs, failures):
                yield chunk
            if not failures:
                return
            for name, exc in failures.items():
                exceptions[f"{name} (try {attempt})" if name in exceptions else name] = exc
        if len(exceptions) == 1:
            raise next(iter(exceptions.values()))
        raise RetryProviderError(exceptions=exceptions)

    async def _try(
        self,
        provider: type[BaseProvider],
        model: str,
        messages: Messages,
        stream: bool,
        kwargs: dict[str, Any],
        exceptions: dict[str, BaseException],
    ) -> AsyncIterator[str | ResponseType]:
        """One provider's answer; its failure before the first real chunk goes to `exceptions`."""
        name = _name(provider)
        create = provider.get_async_create_function()
        held: list[str | ResponseType] = []  # bookkeeping chunks before the first real one
        delivered = False
        try:
            stream_kwargs = {"stream": stream} if provider.supports_stream else {}
            result = create(model, messages, **stream_kwargs, **kwargs)
            async with aclosing(to_async_iterator(result)) as agen:
                async for chunk in agen:
                    if not delivered:
                        if chunk is None or chunk == "":
                            continue
                        if isinstance(chunk, _BOOKKEEPING):
                            held.append(chunk)
                            continue
                        delivered = True
                        self.last_provider = provider
                        used = getattr(provider, "last_model", None) or model
                        log.debug("%s: answering with %s (model %r)", self.__name__, name, used)
                        yield ProviderInfo(
                            name=name, label=provider.label, url=provider.url, model=used
                        )
                        for early in held:
                            yield early
                    elif chunk is None:
                        continue
                    yield chunk
            if not delivered:
                raise ResponseError(f"{name} returned an empty answer", provider=name)
        except Exception as exc:
            if delivered or _callers_fault(exc):
                raise
            log.debug("%s: %s failed before answering, trying the next: %s: %s",
                      self.__name__, name, type(exc).__name__, exc)  # fmt: skip
            exceptions[name] = exc


def _left(timeout: Any, seconds: float) -> Any:
    """`timeout` (seconds or a `Timeouts`) with its total cut to `seconds`."""
    if hasattr(timeout, "total"):
        import dataclasses

        return dataclasses.replace(timeout, total=min(timeout.total, seconds))
    return min(float(timeout), seconds)


class RetryProvider(IterListProvider):
    """`IterListProvider`, plus: with `single_provider_retry` and one provider, that provider
    is tried up to `max_retries` times."""

    def __init__(
        self,
        providers: list[type[BaseProvider]],
        shuffle: bool = True,
        single_provider_retry: bool = False,
        max_retries: int = 3,
    ) -> None:
        super().__init__(providers, shuffle)
        self.single_provider_retry = single_provider_retry
        self.max_retries = max_retries

    def _attempts(self) -> list[type[BaseProvider]]:
        attempts = super()._attempts()
        if self.single_provider_retry and len(attempts) == 1:
            return attempts * max(1, self.max_retries)
        return attempts
