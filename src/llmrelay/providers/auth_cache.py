"""Where authentication results are cached, and how they are written and read safely.

The directory is `$LLMRELAY_CACHE_DIR`, else the platform's user cache directory plus
`llmrelay` (`$XDG_CACHE_HOME` or `~/.cache` on Linux). It is created with mode 0700; files are
written atomically (a temp file in the same directory, then a rename) with mode 0600, so a reader
never sees half a file and no other user can read a token. A file that is missing, unreadable or
not a JSON object reads as None: the caller re-authenticates instead of crashing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "cache_file", "read_json", "write_json_atomic"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def cache_dir() -> Path:
    """llmrelay's cache directory (not created here)."""
    override = os.environ.get("LLMRELAY_CACHE_DIR")
    if override:
        return Path(override).expanduser().absolute()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (base / "llmrelay").absolute()


def cache_file(name: str, prefix: str = "auth_") -> Path:
    """`<cache dir>/<prefix><readable>-<hash>.json`: `readable` is `name` reduced to
    `[A-Za-z0-9_-]` and cut to 64 characters, so no name (`../x`, `/etc/passwd`, `..`) can point
    outside the directory and no name is too long for the file system; `hash` is a digest of the
    exact name, so two names (`acme.ai`, `acme_ai`, `acme ai`) never share a file."""
    safe = (_UNSAFE.sub("_", name) or "_")[:64]
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    directory = cache_dir()
    path = directory / f"{prefix}{safe}-{digest}.json"
    if path.parent != directory:  # cannot happen with the reduction above; kept as a guard
        raise ValueError(f"cache file name {name!r} escapes {directory}")
    return path


def write_json_atomic(path: Path, data: Any) -> None:
    """Write `data` as JSON to `path` atomically, mode 0600, creating the directory (0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None if it is missing, unreadable or not an object."""
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
