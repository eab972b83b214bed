"""`llmrelay keys …` and `llmrelay usage …` (also `python -m llmrelay.server.team_cli keys|usage`).

    keys create --name NAME [--models m1,m2] [--rpm N] [--tpm N] [--budget USD] [--expires 30d]
                [--cache [on|always]] [--cache-ttl 1h]
    keys list
    keys revoke KEY_ID
    usage [--key KEY_ID] [--since 7d|2026-12-01] [--by model|key|day] [--json]

Both work on the store the gateway uses: `--state URL` (or LLMRELAY_STATE), default the
SQLite file in the user data directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from .team.ops import aggregate, default_state_url, make_key, parse_seconds, parse_time
from .team.records import StoreDownError
from .team.state.base import Store, open_store

__all__ = ["keys_main", "main", "usage_main"]


def _state(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--state",
        metavar="URL",
        default=os.environ.get("LLMRELAY_STATE"),
        help="sqlite:///path or redis://… (default: $LLMRELAY_STATE, else the user data dir)",
    )


def _run(url: str | None, work: Callable[[Store], Awaitable[int]], prog: str) -> int:
    async def go() -> int:
        store = open_store(url or default_state_url())
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(go())
    except StoreDownError as exc:
        print(f"{prog}: the state store is unreachable ({exc})", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2


def _when(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


def keys_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="llmrelay keys", description="Virtual keys of the gateway.")
    sub = p.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="a new key (printed once; only its hash is kept)")
    create.add_argument("--name", required=True)
    create.add_argument("--models", default="", help="comma-separated model names (all)")
    create.add_argument("--rpm", type=int, default=0, help="requests per minute (no limit)")
    create.add_argument("--tpm", type=int, default=0, help="tokens per minute (no limit)")
    create.add_argument("--budget", type=float, default=None, help="USD (no budget)")
    create.add_argument("--expires", default=None, help="ISO date/time or 30d, 12h (never)")
    create.add_argument(
        "--cache",
        nargs="?",
        const="on",
        default="off",
        choices=("off", "on", "always"),
        help="response cache: on (answers at temperature 0, others when the request asks), "
        "always (every answer); default off",
    )
    create.add_argument(
        "--cache-ttl", default=None, help="seconds or 15m, 1h, 7d (the gateway's [cache] ttl)"
    )
    _state(create)
    lister = sub.add_parser("list", help="the keys (never their secret)")
    lister.add_argument("--json", action="store_true")
    _state(lister)
    revoke = sub.add_parser("revoke", help="refuse a key from now on, on every instance")
    revoke.add_argument("key_id")
    _state(revoke)
    args = p.parse_args(argv)

    async def work(store: Store) -> int:
        if args.command == "create":
            key, record = make_key(
                args.name,
                [m.strip() for m in args.models.split(",")],
                args.rpm,
                args.tpm,
                args.budget,
                parse_time(args.expires, future=True),
                args.cache,
                parse_seconds(args.cache_ttl),
            )
            await store.create_key(record)
            print(f"id:  {record.id}\nkey: {key}\n(shown once: only its sha256 is stored)")
            return 0
        if args.command == "list":
            keys = await store.list_keys()
            if args.json:
                print(json.dumps([k.public() for k in keys], indent=2))
                return 0
            print(f"{'id':22} {'name':20} {'rpm':>6} {'tpm':>8} {'budget':>9} {'spent':>10} "
                  f"{'cache':12} {'expires':16} state")  # fmt: skip
            for k in keys:
                spent = await store.spend(k.id) / 1e6
                budget = "-" if k.budget < 0 else f"{k.budget / 1e6:.2f}"
                state = "revoked" if k.revoked else "active"
                cache = k.cache + (f" {k.cache_ttl}s" if k.cache_ttl and k.cache != "off" else "")
                print(f"{k.id:22} {k.name[:20]:20} {k.rpm or '-':>6} {k.tpm or '-':>8} "
                      f"{budget:>9} {spent:>10.4f} {cache:12} {_when(k.expires):16} "
                      f"{state}")  # fmt: skip
            return 0
        if not await store.revoke(args.key_id):
            print(f"llmrelay keys: no key {args.key_id!r}", file=sys.stderr)
            return 1
        print(f"revoked {args.key_id}")
        return 0

    return _run(args.state, work, "llmrelay keys")


def usage_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="llmrelay usage", description="What each key spent.")
    p.add_argument("--key", help="one key id")
    p.add_argument("--since", help="ISO date/time or 7d, 12h (everything)")
    p.add_argument("--by", choices=("model", "key", "day"), help="totals per model, key or day")
    p.add_argument("--json", action="store_true")
    _state(p)
    args = p.parse_args(argv)

    async def work(store: Store) -> int:
        since = parse_time(args.since, future=False) if args.since else None
        rows: list[dict[str, Any]] = aggregate(await store.usage(since, args.key), args.by)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        if args.by:
            print(f"{args.by:24} {'requests':>9} {'cached':>7} {'prompt':>10} {'completion':>11} "
                  f"{'cost':>11}")  # fmt: skip
            for r in rows:
                print(f"{str(r[args.by])[:24]:24} {r['requests']:>9} {r['cached']:>7} "
                      f"{r['prompt_tokens']:>10} {r['completion_tokens']:>11} "
                      f"{r['cost']:>11.6f}")  # fmt: skip
            return 0
        print(f"{'time':16} {'key':16} {'model':20} {'status':>6} {'in':>7} {'out':>7} "
              f"{'cost':>10} {'ms':>8}")  # fmt: skip
        for r in rows:
            print(f"{_when(r['at']):16} {r['key_name'][:16]:16} {r['model'][:20]:20} "
                  f"{r['status']:>6} {r['prompt_tokens']:>7} {r['completion_tokens']:>7} "
                  f"{r['cost']:>10.6f} {r['latency_ms']:>8.1f}"
                  f"{' cached' if r.get('cached') else ''}")  # fmt: skip
        return 0

    return _run(args.state, work, "llmrelay usage")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["keys"]:
        return keys_main(argv[1:])
    if argv[:1] == ["usage"]:
        return usage_main(argv[1:])
    print("usage: python -m llmrelay.server.team_cli keys|usage …", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
