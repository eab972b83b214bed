"""`llmrelay logs`: list and search the recorded exchanges."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "logs",
        help="list or search recorded exchanges",
        description="Every `llmrelay chat` exchange is recorded in a SQLite database (prompt, "
        "answer, model, provider, tokens, time) unless --no-log is given or the config says "
        "log = false. `llmrelay chat -c` continues the last conversation.",
    )
    p.add_argument("query", nargs="?", help="full-text search of prompts and answers")
    p.add_argument("-n", "--count", type=int, default=10, help="how many (default 10)")
    p.add_argument("-c", "--conversation", action="store_true",
                   help="show the last conversation in full")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--path", action="store_true", help="print the database's path only")


def run(args: argparse.Namespace) -> int:
    from .logstore import LogStore
    from .output import Style
    from .settings import data_dir

    path = data_dir() / "logs.db"
    if args.path:
        print(path)
        return 0
    if not path.exists():
        print("no exchanges logged yet", file=sys.stderr)
        return 0
    store = LogStore(path)
    if args.conversation:
        last = store.last_conversation()
        rows = store.conversation(last) if last else []
    elif args.query:
        rows = store.search(args.query, args.count)
    else:
        rows = store.recent(args.count)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False))
        return 0
    style = Style(sys.stdout)
    for row in rows:
        when = datetime.datetime.fromtimestamp(row.created).isoformat(" ", "seconds")
        tokens = ""
        if row.prompt_tokens is not None:
            tokens = f", {row.prompt_tokens}+{row.completion_tokens} tokens"
        print(style.dim(f"# {when}  {row.provider} / {row.model}{tokens}  "
                        f"conversation {row.conversation[:8]}"))  # fmt: skip
        print(f"> {row.prompt}\n{row.answer}\n")
    return 0
