"""`llmrelay serve`, `llmrelay keys`, `llmrelay usage`: commands whose every argument (`--help`
too) belongs to the gateway (`llmrelay.server`), which parses them itself."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

__all__ = ["DELEGATED", "add_parser", "run", "run_delegated"]

#: Command → (module, function taking argv and returning the exit code, one-line help).
DELEGATED = {
    "serve": ("llmrelay.server.cli", "main", "run the OpenAI-compatible gateway"),
    "keys": ("llmrelay.server.team_cli", "keys_main",
             "the gateway's virtual keys: create, list, revoke"),
    "usage": ("llmrelay.server.team_cli", "usage_main", "what the gateway's virtual keys spent"),
}  # fmt: skip


def add_parser(sub: Any) -> None:
    for name, (_, _, summary) in DELEGATED.items():
        p = sub.add_parser(
            name,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}; arguments after `{name}` are the "
            f"gateway's own (`llmrelay {name} --help` shows them).",
            add_help=False,
        )
        p.add_argument("args", nargs=argparse.REMAINDER, help="the gateway's arguments")


def run(args: argparse.Namespace) -> int:
    return run_delegated(args.command, list(args.args))


def run_delegated(command: str, argv: list[str]) -> int:
    """The gateway's own command line for `command`, or a one-line error where it is missing."""
    from .output import USAGE, error_line

    module_name, function, _ = DELEGATED[command]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("llmrelay.server"):
            raise
        error_line("the gateway is not available in this installation (llmrelay.server is "
                   "missing): install a llmrelay version that has it")  # fmt: skip
        return USAGE
    return int(getattr(module, function)(argv))
