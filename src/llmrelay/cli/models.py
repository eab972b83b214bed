"""`llmrelay models`: the models llmrelay routes, or those of one provider."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "models",
        help="list models (all routed models, or one provider's)",
        description="Without --provider: the models llmrelay routes by name and who serves "
        "them. With --provider: that provider's models (servers are asked for their list).",
    )
    p.add_argument("-p", "--provider", help="list this provider's models")
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from .settings import apply_keys

    apply_keys()
    if args.provider:
        from ..client import Client

        listed = Client().models.list(provider=args.provider)
        names = [m.id for m in listed.data]
        if args.json:
            print(json.dumps(names, indent=2))
        else:
            for name in names:
                print(name)
        return 0
    from .. import models

    if args.json:
        data = [{"model": m.name, "by": m.base_provider, "providers": list(m.providers)}
                for m in models.MODELS]  # fmt: skip
        print(json.dumps(data, indent=2))
        return 0
    for m in models.MODELS:
        print(f"{m.name:<20} {m.base_provider:<11} {', '.join(m.providers)}")
    from ..Provider.local_models import CATALOGUE

    for name in CATALOGUE:
        print(f"{name:<20} {'local':<11} LocalLlama")
    return 0
