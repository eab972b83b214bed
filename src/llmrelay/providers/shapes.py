"""Upstream data of an unexpected shape is a `ResponseError`, never a stray TypeError.

The stream parsers read JSON the upstream sent; a value of the wrong type where the wire
format promises another (a string where a list of candidates belongs, null for an object, …)
would surface as a `TypeError`, `AttributeError`, `KeyError` or `IndexError` from deep inside a
parser. `upstream_shape` turns those into a `ResponseError` that names the parser, so callers
handle one error type for every way an upstream can misbehave (found by property tests).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ..errors import ResponseError

__all__ = ["upstream_shape"]

F = TypeVar("F", bound=Callable[..., Any])


def upstream_shape(what: str) -> Callable[[F], F]:
    """Decorate a parser function: shape errors in what it reads become `ResponseError`."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except (TypeError, AttributeError, KeyError, IndexError) as exc:
                provider = getattr(args[0], "provider", None) if args else None
                raise ResponseError(
                    f"{what} of an unexpected shape ({type(exc).__name__}: {exc})",
                    provider=provider if isinstance(provider, str) else None,
                ) from None

        return cast(F, wrapper)

    return decorate
