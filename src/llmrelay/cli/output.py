"""Exit codes, one-line errors and terminal styling shared by the commands."""

from __future__ import annotations

import os
import sys
from typing import TextIO

__all__ = ["AUTH", "INTERRUPTED", "OK", "OTHER", "UPSTREAM", "USAGE", "Style", "error_line"]

OK, OTHER, USAGE, AUTH, UPSTREAM, INTERRUPTED = 0, 1, 2, 3, 4, 130


class Style:
    """ANSI styles for one stream, only when it is a terminal (and `NO_COLOR` is not set)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.on = (
            stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        )

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.on else text

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)


def error_line(message: str) -> None:
    """Print `llmrelay: error: …` on stderr, on one line."""
    text = " ".join(message.split())
    sys.stderr.write(f"{Style(sys.stderr).red('llmrelay: error:')} {text}\n")
    sys.stderr.flush()


def exit_code_for(exc: BaseException) -> tuple[int, str]:
    """The documented exit code for an error, and its one-line message with the fix."""
    from .. import errors

    text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED, "interrupted"
    if isinstance(exc, errors.MissingAuthError | errors.PaymentRequiredError):
        name = getattr(exc, "provider", None) or "PROVIDER"
        hint = "" if "llmrelay auth" in text else f" (or save it once: `llmrelay auth {name}`)"
        return AUTH, text + hint
    from .settings import ConfigError

    if isinstance(exc, ConfigError):
        return USAGE, text
    if isinstance(exc, errors.MissingRequirementsError):
        return OTHER, text
    if isinstance(exc, errors.InvalidRequestError):
        return USAGE, text
    if isinstance(
        exc,
        errors.ResponseError
        | errors.APIConnectionError
        | errors.TimeoutError
        | errors.RetryProviderError
        | errors.ProviderNotWorkingError,
    ):
        return UPSTREAM, text
    if isinstance(exc, errors.LLMRelayError):
        return UPSTREAM, text
    if isinstance(exc, OSError):
        return OTHER, f"{exc.strerror or exc}: {exc.filename}" if exc.filename else text
    return OTHER, f"{type(exc).__name__}: {text} (run with --debug for the traceback)"
