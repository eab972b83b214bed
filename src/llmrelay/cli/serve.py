"""`llmrelay serve`: the OpenAI-compatible gateway (`llmrelay.server`)."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the OpenAI-compatible gateway",
        description="Run the gateway; arguments after `serve` are the gateway's own "
        "(`llmrelay serve --help` shows them when the gateway is installed).",
        add_help=False,
    )
    p.add_argument("args", nargs=argparse.REMAINDER, help="the gateway's arguments")


def run(args: argparse.Namespace) -> int:
    return run_gateway(list(args.args))


def run_gateway(argv: list[str]) -> int:
    """`llmrelay.server.cli.main(argv)`, or a one-line error where the gateway is missing."""
    from .output import USAGE, error_line

    try:
        server_cli = importlib.import_module("llmrelay.server.cli")
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("llmrelay.server"):
            raise
        error_line("the gateway is not available in this installation (llmrelay.server is "
                   "missing): install a llmrelay version that has it")  # fmt: skip
        return USAGE
    return int(server_cli.main(argv))
