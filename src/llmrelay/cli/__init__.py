"""`llmrelay`: the command line. One module per command; each imports what it needs only when
it runs, so `llmrelay --help` stays fast.

Exit codes: 0 success, 1 other errors, 2 usage (bad arguments, unknown model or provider),
3 authentication (no key, key refused), 4 provider or upstream failure, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "build_parser", "main"]

#: The commands; each is a module with `add_parser(subparsers)` and `run(args) -> int`, but for
#: the gateway's own (`serve`, `keys`, `usage`), all three in `delegated`.
COMMANDS = ("chat", "image", "providers", "models", "auth", "config", "logs", "serve", "keys",
            "usage")  # fmt: skip
_GATEWAYS = ("serve", "keys", "usage")
_MODULES = ("chat", "image", "providers", "models", "auth", "config", "logs", "delegated")

EPILOG = """exit codes: 0 ok, 1 other error, 2 usage, 3 authentication, 4 provider or upstream,
130 interrupted. Run `llmrelay COMMAND --help` for a command's options."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmrelay",
        description="Chat with LLMs from the command line: a local model with no key, or any "
        "configured provider.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the answer")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _MODULES:
        importlib.import_module(f".{module}", __name__).add_parser(sub)
    for name, command in sub.choices.items():  # also accepted after the command
        if name in _GATEWAYS:  # their arguments are the gateway's
            continue
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks on errors")  # fmt: skip
        command.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                             help="print only the answer")  # fmt: skip
    return parser


def _version() -> str:
    from .. import __version__

    return f"llmrelay {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from .output import INTERRUPTED, OK, USAGE, error_line, exit_code_for

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _GATEWAYS:  # every argument after it is the gateway's, --help too
        from .delegated import run_delegated

        return run_delegated(argv[0], argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else USAGE
    if args.command is None:
        parser.print_help()
        return OK
    name = "delegated" if args.command in _GATEWAYS else args.command
    module = importlib.import_module(f".{name}", __name__)
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return INTERRUPTED
    except BrokenPipeError:
        return OK
    except Exception as exc:
        if args.debug:
            raise
        code, message = exit_code_for(exc)
        error_line(message)
        return code
