"""The interactive session of `llmrelay chat` (no prompt, on a terminal).

History with the arrow keys (readline, kept in `<data dir>/history`); multi-line input between
lines of `\"\"\"` or by ending a line with `\\`; commands: /model NAME, /provider NAME, /clear,
/save FILE, /help, /exit. Ctrl-C cancels the answer being written (or the line being typed);
Ctrl-D leaves.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["interactive"]

HELP = """commands:
  /model NAME      use another model (empty: the provider's default)
  /provider NAME   use another provider
  /clear           forget the conversation
  /save FILE       write the conversation to FILE (.json: JSON, else Markdown)
  /help            this help
  /exit            leave (or Ctrl-D)
multi-line: start and end with a line of \"\"\", or end lines with \\
Ctrl-C cancels the answer being written; Ctrl-D leaves."""


def _setup_history() -> Any:
    try:
        import readline
    except ImportError:  # Windows without pyreadline
        return None
    from .settings import data_dir

    path = data_dir() / "history"
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)
    return readline, path


def _read_prompt() -> str | None:
    """One message (maybe several lines); None on end of input."""
    try:
        line = input("> ")
    except EOFError:
        return None
    if line.strip() == '"""':
        lines = []
        while True:
            try:
                more = input("... ")
            except EOFError:
                break
            if more.strip() == '"""':
                break
            lines.append(more)
        return "\n".join(lines)
    lines = [line]
    while lines[-1].endswith("\\"):
        lines[-1] = lines[-1][:-1]
        try:
            lines.append(input("... "))
        except EOFError:
            break
    return "\n".join(lines)


def _save(path: Path, messages: list[dict[str, Any]]) -> None:
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(messages, indent=2, ensure_ascii=False) + "\n", "utf-8")
        return
    parts = [f"**{m['role']}**: {m['content']}" for m in messages]
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def _command(asker: Any, line: str) -> bool:
    """Handle a /command; False when the session should end."""
    name, _, arg = line[1:].partition(" ")
    arg = arg.strip()
    if name in ("exit", "quit"):
        return False
    if name == "model":
        asker.model = arg
        print(f"model: {arg or '(default)'}")
    elif name == "provider":
        if arg:
            from ..providers.registry import provider_by_name

            provider_by_name(arg)  # unknown: ProviderNotFoundError, shown below
        asker.provider = arg or None
        print(f"provider: {arg or '(automatic)'}")
    elif name == "clear":
        asker.clear()
        print("conversation cleared")
    elif name == "save":
        if not arg:
            print("usage: /save FILE")
        else:
            _save(Path(arg).expanduser(), asker.messages)
            print(f"saved {len(asker.messages)} messages to {arg}")
    elif name == "help":
        print(HELP)
    else:
        print(f"unknown command /{name}; /help lists them")
    return True


def interactive(asker: Any, images: list[str] | None = None, quiet: bool = False) -> int:
    from .output import Style, error_line, exit_code_for

    history = _setup_history()
    style = Style(sys.stdout)
    who = asker.provider or "automatic"
    if not quiet:
        print(style.dim(f"llmrelay chat with {who}{' / ' + asker.model if asker.model else ''}: "
                        "/help for commands, Ctrl-D to leave"))  # fmt: skip
    pending_images = list(images or [])
    try:
        while True:
            try:
                prompt = _read_prompt()
            except KeyboardInterrupt:
                print()
                continue
            if prompt is None:
                print()
                return 0
            if not prompt.strip():
                continue
            try:
                if prompt.startswith("/"):
                    if not _command(asker, prompt.strip()):
                        return 0
                    continue
                asker.ask(prompt, images=pending_images)
                pending_images = []
            except KeyboardInterrupt:
                print(style.dim("\n[cancelled]"))
            except Exception as exc:
                error_line(exit_code_for(exc)[1])
    finally:
        if history is not None:
            readline, path = history
            with contextlib.suppress(OSError):
                path.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(path)
