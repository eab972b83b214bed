"""`llmrelay config`: the effective configuration, where each value came from."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "config",
        help="show the effective configuration (secrets masked)",
        description="Each setting with its value and source (argument, environment variable, "
        "config file, default), the files in use, and the API keys found (masked). The config "
        "file is TOML; LLMRELAY_CONFIG moves it.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--path", action="store_true", help="print the config file's path only")


def _item(settings: Any, name: str) -> dict[str, Any]:
    from .settings import SETTINGS

    unset = f"unset (env {SETTINGS[name][0]} or config file)"
    return {"value": settings.values.get(name), "source": settings.sources.get(name, unset)}


def run(args: argparse.Namespace) -> int:
    from .providers import provider_rows
    from .settings import SETTINGS, Settings, data_dir, keys_path, load_keys, mask

    settings = Settings.load()
    if args.path:
        print(settings.file)
        return 0
    saved = load_keys()
    keys: dict[str, dict[str, str]] = {}
    for row in provider_rows():  # applies saved keys to the environment
        for variable in row.get("configure", "").split(" or "):
            value = os.environ.get(variable)
            if variable.isupper() and value and variable not in keys:
                source = "keys file" if saved.get(variable) == value else f"env {variable}"
                keys[variable] = {"value": mask(value), "source": source}
    report: dict[str, Any] = {
        "config_file": {"path": str(settings.file), "exists": settings.file_found},
        "keys_file": str(keys_path()),
        "log_database": str(data_dir() / "logs.db"),
        "settings": {name: _item(settings, name) for name in SETTINGS},
        "api_keys": keys,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    found = "" if settings.file_found else " (not found: defaults apply)"
    print(f"config file   {settings.file}{found}")
    print(f"keys file     {report['keys_file']}")
    print(f"log database  {report['log_database']}")
    for name, item in report["settings"].items():
        value = "-" if item["value"] is None else item["value"]
        print(f"{name:<13} {value!s:<24} {item['source']}")
    for variable, item in keys.items():
        print(f"{variable:<28} {item['value']:<10} {item['source']}")
    if not keys:
        print("no API key set: the local model answers (`llmrelay providers` lists variables)")
    return 0
