"""The three deadlines of a call (`Timeouts`): connect, idle between bytes, and total."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidRequestError

__all__ = ["DEFAULT_TIMEOUTS", "Timeouts"]


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds; None means no limit."""

    connect: float | None = 10.0
    idle: float | None = 120.0
    total: float | None = 600.0

    @classmethod
    def from_param(cls, timeout: float | Timeouts | None) -> Timeouts:
        """The spec's `timeout` parameter (the total, in seconds) or a full `Timeouts`."""
        if timeout is None:
            return DEFAULT_TIMEOUTS
        if isinstance(timeout, Timeouts):
            return timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise InvalidRequestError(f"timeout must be a positive number of seconds: {timeout!r}")
        return cls(
            connect=min(DEFAULT_TIMEOUTS.connect or timeout, timeout),
            idle=min(DEFAULT_TIMEOUTS.idle or timeout, timeout),
            total=float(timeout),
        )


DEFAULT_TIMEOUTS = Timeouts()
