"""`llmrelay providers`: every provider, whether it is configured, and how to configure it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

__all__ = ["add_parser", "provider_rows", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "providers",
        help="list providers: configured or not, local or remote, what each supports",
        description="A table of providers: whether each is ready (its key variable is set, "
        "or it needs none), which variable configures it, whether it runs locally, and what "
        "it supports.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _variables(provider: Any) -> list[str]:
    variables = getattr(provider, "api_key_env", None)
    return [variables] if isinstance(variables, str) else list(variables or ())


def provider_rows() -> list[dict[str, Any]]:
    from ..providers.registry import all_provider_names, provider_by_name
    from .settings import apply_keys

    apply_keys()
    rows: list[dict[str, Any]] = []
    for name in all_provider_names():
        try:
            provider = provider_by_name(name)
        except Exception as exc:  # a broken plug-in: shown, not fatal
            rows.append({"name": name, "error": str(exc)})
            continue
        variables = _variables(provider)
        base = getattr(provider, "api_base", None) or ""
        local = name == "LocalLlama" or "127.0.0.1" in base or "localhost" in base
        if provider.needs_auth:
            ready = any(os.environ.get(v) for v in variables)
            configure = " or ".join(variables) or "api_key=…"
        else:
            ready = True
            env = getattr(provider, "api_base_env", None)
            configure = f"nothing ({env} to move it)" if env else "nothing"
            if name == "LocalLlama":
                configure = "nothing (pip install 'llmrelay[local]')"
        features = ["stream"] if provider.supports_stream else []
        params = provider.get_parameters() if hasattr(provider, "get_parameters") else {}
        features += [f for f in ("tools", "media", "response_format", "web_search") if f in params]
        rows.append({"name": name, "configured": ready, "configure": configure,
                     "local": local, "supports": features})  # fmt: skip
    return rows


def run(args: argparse.Namespace) -> int:
    from .output import Style

    rows = provider_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    style = Style(sys.stdout)
    header = f"{'provider':<16} {'ready':<6} {'where':<7} {'configure with':<44} supports"
    print(style.bold(header))
    for row in rows:
        if "error" in row:
            print(f"{row['name']:<16} {'error':<6} {'':<7} {row['error']}")
            continue
        ready = style.green("yes   ") if row["configured"] else "no    "
        where = "local" if row["local"] else "remote"
        print(f"{row['name']:<16} {ready} {where:<7} {row['configure']:<44} "
              f"{', '.join(row['supports'])}")  # fmt: skip
    return 0
