"""Key creation, time parsing and usage summaries: shared by the CLI and the admin API."""

from __future__ import annotations

import os
import re
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .records import CACHE_MODES, MICRO, KeyRecord, Usage, hash_key, new_key

__all__ = ["aggregate", "default_state_url", "make_key", "parse_seconds", "parse_time"]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def data_dir() -> Path:
    """The user data directory (XDG on Linux, Application Support on macOS, LOCALAPPDATA)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "llmrelay"


def default_state_url() -> str:
    return "sqlite:///" + str(data_dir() / "state.db").lstrip("/")


def parse_time(text: str | float | None, *, future: bool) -> float:
    """Epoch seconds from an epoch number, an ISO date/time (UTC unless it says), or a duration
    (`30d`, `12h`: from now, forward if `future` else back). 0.0 for None/empty."""
    if text is None or text == "":
        return 0.0
    if isinstance(text, int | float):
        return float(text)
    match = _DURATION.match(text.strip())
    if match:
        seconds = float(match[1]) * _UNITS[match[2]]
        return time.time() + (seconds if future else -seconds)
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a time: {text!r} (epoch, ISO 8601, or 30d/12h/15m)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_seconds(text: str | float | None) -> int:
    """Whole seconds from a number or a duration (`90`, `15m`, `1h`, `7d`); 0 for None/empty."""
    if text is None or text == "":
        return 0
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text).strip())
        try:
            seconds = float(match[1]) * _UNITS[match[2]] if match else float(str(text))
        except ValueError:
            raise ValueError(f"not a duration: {text!r} (seconds, or 15m/1h/7d)") from None
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"not a duration: {text!r} (seconds, or 15m/1h/7d)")
    return round(seconds)


def make_key(
    name: str,
    models: Sequence[str] = (),
    rpm: int = 0,
    tpm: int = 0,
    budget: float | None = None,
    expires: float = 0.0,
    cache: str = "off",
    cache_ttl: int = 0,
) -> tuple[str, KeyRecord]:
    """A new random key (to show once) and its record (which holds only its sha256)."""
    if not name or len(name) > 200:
        raise ValueError("name: 1 to 200 characters")
    if rpm < 0 or tpm < 0 or (budget is not None and budget < 0) or cache_ttl < 0:
        raise ValueError("rpm, tpm, budget and cache_ttl cannot be negative")
    if cache not in CACHE_MODES:
        raise ValueError(f"cache: one of {', '.join(CACHE_MODES)}")
    key = new_key()
    record = KeyRecord(
        id="key_" + uuid.uuid4().hex[:16],
        hash=hash_key(key),
        name=name,
        models=tuple(m for m in models if m),
        rpm=rpm,
        tpm=tpm,
        budget=-1 if budget is None else round(budget * MICRO),
        expires=expires,
        created=time.time(),
        cache=cache,
        cache_ttl=cache_ttl,
    )
    return key, record


def aggregate(records: Iterable[Usage], by: str | None) -> list[dict[str, Any]]:
    """Records as shown, or totals per model, key or UTC day (`cached`: answered from the
    response cache, among `requests`)."""
    if by is None:
        return [u.public() for u in records]
    if by not in ("model", "key", "day"):
        raise ValueError("by: model, key or day")
    groups: dict[str, dict[str, Any]] = {}
    for u in records:
        if by == "model":
            group = u.model
        elif by == "key":
            group = u.key_name or u.key_id
        else:
            group = datetime.fromtimestamp(u.at, UTC).strftime("%Y-%m-%d")
        row = groups.setdefault(
            group,
            {by: group, "requests": 0, "cached": 0, "prompt_tokens": 0, "completion_tokens": 0,
             "cost": 0},
        )  # fmt: skip
        row["requests"] += 1
        row["cached"] += u.cached
        row["prompt_tokens"] += u.prompt_tokens
        row["completion_tokens"] += u.completion_tokens
        row["cost"] += u.cost
    for row in groups.values():
        row["cost"] = row["cost"] / MICRO
    return [groups[g] for g in sorted(groups)]
