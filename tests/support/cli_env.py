"""Run `python -m llmrelay` as a user would, with a clean environment of its own."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import Mapping

__all__ = ["clean_env", "run_cli"]

_SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_BASE_URL", "_ENDPOINT", "_HOST")


def clean_env(home: pathlib.Path, **extra: str) -> dict[str, str]:
    """The environment minus every key, base URL and llmrelay variable, with config, data and
    cache directories under `home`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(_SECRET_SUFFIXES) and not k.startswith(("LLMRELAY_", "GOOGLE_"))
    }
    env.update(
        LLMRELAY_CONFIG=str(home / "config" / "config.toml"),
        LLMRELAY_DATA_DIR=str(home / "data"),
        LLMRELAY_CACHE_DIR=str(home / "cache"),
        NO_COLOR="1",
        **extra,
    )
    return env


def run_cli(
    *args: str,
    env: Mapping[str, str],
    input: str | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """`python -m llmrelay ARGS`; stdin is `input` (or empty, never a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "llmrelay", *args],
        env=dict(env),
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
    )
