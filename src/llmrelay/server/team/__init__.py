"""Teams: virtual keys, per-key rate limits and budgets, usage records, shared through a state
store (SQLite for one instance, Redis for many)."""

from .gate import Team, TeamRequest

__all__ = ["Team", "TeamRequest"]
