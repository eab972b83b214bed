"""`llmrelay auth`: save a provider's API key once (or list / remove saved keys)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "auth",
        help="save, list or remove API keys",
        description="Save PROVIDER's API key in keys.json beside the config file (mode 0600), "
        "read from a hidden prompt or from stdin. Variables set in the environment win over "
        "saved keys.",
    )
    p.add_argument("provider", nargs="?", help="provider to save a key for")
    p.add_argument("--list", action="store_true", help="list saved keys (masked)")
    p.add_argument("--logout", action="store_true", help="remove PROVIDER's saved key")


def _variable(name: str) -> str:
    from ..errors import InvalidRequestError
    from ..providers.registry import provider_by_name

    provider = provider_by_name(name)
    variables = getattr(provider, "api_key_env", None)
    variable = variables if isinstance(variables, str) else next(iter(variables or ()), None)
    if not variable:
        raise InvalidRequestError(f"{name} takes no API key")
    return variable


def run(args: argparse.Namespace) -> int:
    from .output import USAGE, error_line
    from .settings import keys_path, load_keys, mask, save_keys

    keys = load_keys()
    if args.list:
        if not keys:
            print(f"no saved keys ({keys_path()})")
        for variable, value in sorted(keys.items()):
            print(f"{variable:<28} {mask(value)}")
        return 0
    if not args.provider:
        error_line("name a provider (`llmrelay auth OpenAI`), or use --list")
        return USAGE
    variable = _variable(args.provider)
    if args.logout:
        if keys.pop(variable, None) is None:
            print(f"no saved key for {args.provider}")
            return 0
        save_keys(keys)
        print(f"removed the saved key for {args.provider} ({variable})")
        return 0
    if sys.stdin.isatty():
        value = getpass.getpass(f"{variable} for {args.provider}: ")
    else:
        value = sys.stdin.readline()
    value = value.strip()
    if not value:
        error_line("no key given")
        return USAGE
    keys[variable] = value
    path = save_keys(keys)
    note = f" ({variable} is set in the environment and wins)" if os.environ.get(variable) else ""
    print(f"saved {args.provider}'s key as {variable} in {path}{note}")
    return 0
