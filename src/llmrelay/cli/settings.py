"""The CLI's configuration: arguments, then environment variables, then a TOML file.

- Config file: `$LLMRELAY_CONFIG`, else `<user config dir>/llmrelay/config.toml`. Keys:
  `provider`, `model`, `system`, `temperature`, `max_tokens`, `log` (false: record nothing).
- Keys saved by `llmrelay auth`: `keys.json` beside the config file (mode 0600), read into the
  environment for variables that are not set already.
- Data: `$LLMRELAY_DATA_DIR`, else `<user data dir>/llmrelay` (the log database).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "SETTINGS",
    "ConfigError",
    "Settings",
    "config_path",
    "data_dir",
    "keys_path",
    "load_keys",
]

#: name → (environment variable, type)
SETTINGS: dict[str, tuple[str, type]] = {
    "provider": ("LLMRELAY_PROVIDER", str),
    "model": ("LLMRELAY_MODEL", str),
    "system": ("LLMRELAY_SYSTEM", str),
    "temperature": ("LLMRELAY_TEMPERATURE", float),
    "max_tokens": ("LLMRELAY_MAX_TOKENS", int),
    "log": ("LLMRELAY_LOG", bool),
}


class ConfigError(ValueError):
    """A malformed config file or setting (exit code 2)."""


def _base(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    return Path(value) if value else Path.home() / fallback


def config_path() -> Path:
    override = os.environ.get("LLMRELAY_CONFIG")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home()) / "llmrelay" / "config.toml"
    return _base("XDG_CONFIG_HOME", ".config") / "llmrelay" / "config.toml"


def keys_path() -> Path:
    return config_path().with_name("keys.json")


def data_dir() -> Path:
    override = os.environ.get("LLMRELAY_DATA_DIR")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home()) / "llmrelay"
    return _base("XDG_DATA_HOME", ".local/share") / "llmrelay"


def _parse(kind: type, value: Any, where: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected true or false, not {value!r}")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected {kind.__name__}, not {value!r}") from None


@dataclass
class Settings:
    """Effective values and where each came from ("argument", "env VAR", "config file")."""

    values: dict[str, Any]
    sources: dict[str, str]
    file: Path
    file_found: bool

    def get(self, name: str) -> Any:
        return self.values.get(name)

    @classmethod
    def load(cls, arguments: dict[str, Any] | None = None) -> Settings:
        """Merge `arguments` (None values ignored), the environment and the config file.
        A malformed file or value raises `ConfigError` naming it."""
        path = config_path()
        data: dict[str, Any] = {}
        found = path.is_file()
        if found:
            import tomllib

            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        unknown = sorted(set(data) - set(SETTINGS))
        if unknown:
            raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name, (variable, kind) in SETTINGS.items():
            given = (arguments or {}).get(name)
            if given is not None:
                values[name], sources[name] = given, "argument"
            elif os.environ.get(variable):
                values[name] = _parse(kind, os.environ[variable], variable)
                sources[name] = f"env {variable}"
            elif name in data:
                values[name] = _parse(kind, data[name], f"{path}: {name}")
                sources[name] = "config file"
        values.setdefault("log", True)
        sources.setdefault("log", "default")
        return cls(values, sources, path, found)


def load_keys() -> dict[str, str]:
    """Keys saved by `llmrelay auth` (empty when none or unreadable)."""
    try:
        data = json.loads(keys_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def save_keys(keys: dict[str, str]) -> Path:
    """Write the keys file atomically with mode 0600."""
    path = keys_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(keys, file, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def apply_keys() -> dict[str, str]:
    """Put saved keys into the environment where the variable is unset; return those used."""
    used = {}
    for variable, value in load_keys().items():
        if not os.environ.get(variable):
            os.environ[variable] = value
            used[variable] = value
    return used


def mask(secret: str) -> str:
    """A secret as shown: its length class and last 4 characters at most."""
    return f"****{secret[-4:]}" if len(secret) >= 12 else "****"
