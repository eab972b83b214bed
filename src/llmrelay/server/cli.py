"""The gateway's command line: `llmrelay serve …` and `python -m llmrelay.server …`.

    python -m llmrelay.server --port 8000 --api-key "$KEY" [--config gateway.toml]

Safe by default: without a gateway key (`--api-key`, repeatable, or `LLMRELAY_API_KEYS`,
comma-separated) it refuses to listen on anything but loopback unless `--insecure-no-auth`.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import logging
import os
import sys
from typing import Any

from .config import DEFAULT_MAX_BODY_BYTES, ConfigError, GatewayConfig, keys_from_env, load_config

__all__ = ["app_from_environment", "build_config", "main", "parser"]

_CONFIG_VARIABLE = "LLMRELAY_GATEWAY_SETTINGS"  # hands the settings to worker processes


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llmrelay serve",
        description="An OpenAI- and Anthropic-compatible gateway in front of every provider.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    p.add_argument("--config", metavar="FILE", help="TOML: upstreams, model aliases, fallbacks")
    p.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help="a key callers must send (repeatable; also LLMRELAY_API_KEYS=k1,k2)",
    )
    p.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="serve without keys on a non-loopback address",
    )
    p.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        help=f"largest request body ({DEFAULT_MAX_BODY_BYTES})",
    )
    p.add_argument(
        "--max-inflight",
        type=int,
        default=None,
        help="upstream requests in flight per process before queueing (256)",
    )
    p.add_argument(
        "--allow-request-field",
        action="append",
        default=[],
        metavar="FIELD",
        help="let callers send this field to providers (e.g. api_base); repeatable",
    )
    p.add_argument(
        "--shutdown-timeout",
        type=float,
        default=None,
        help="seconds streams get to finish on shutdown (30)",
    )
    team = p.add_argument_group("teams (virtual keys, limits, budgets, usage)")
    team.add_argument(
        "--state",
        metavar="URL",
        help="state store: sqlite:///path (one instance) or redis://host:port/db (many); "
        "default with --admin-key: SQLite in the user data directory",
    )
    team.add_argument(
        "--state-fail-open",
        action="store_true",
        help="when the store is unreachable, serve keys last seen valid (default: 503)",
    )
    team.add_argument(
        "--admin-key",
        metavar="KEY",
        help="the key of the admin API (/v1/admin/keys, /v1/usage); also LLMRELAY_ADMIN_KEY",
    )
    team.add_argument("--prices", metavar="FILE", help="a price table (JSON) to use instead")
    p.add_argument("--log-level", default="info", help="log level (info)")
    p.add_argument("--no-access-log", action="store_true", help="no access-log lines")
    return p


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def build_config(args: argparse.Namespace) -> GatewayConfig:
    """The settings from parsed arguments (`ConfigError` when they are unsafe or wrong)."""
    config = load_config(args.config) if args.config else GatewayConfig()
    keys = tuple(args.api_key) + keys_from_env() + config.api_keys
    changes: dict[str, Any] = {
        "api_keys": tuple(dict.fromkeys(keys)),
        "insecure_no_auth": args.insecure_no_auth,
    }
    if args.max_body_bytes is not None:
        changes["max_body_bytes"] = args.max_body_bytes
    if args.max_inflight is not None:
        changes["max_inflight"] = args.max_inflight
    if args.shutdown_timeout is not None:
        changes["shutdown_timeout"] = args.shutdown_timeout
    if args.allow_request_field:
        changes["allowed_fields"] = config.allowed_fields | set(args.allow_request_field)
    admin_key = args.admin_key or os.environ.get("LLMRELAY_ADMIN_KEY") or None
    if args.state or admin_key:
        changes.update(
            state=args.state,
            state_fail_open=args.state_fail_open,
            admin_key=admin_key,
            prices=args.prices,
        )
    config = config.with_(**changes)
    if config.max_body_bytes < 1 or config.max_inflight < 1:
        raise ConfigError("--max-body-bytes and --max-inflight must be at least 1")
    keyed = config.api_keys or config.state or config.admin_key  # the team layer needs keys
    if not keyed and not config.insecure_no_auth and not _is_loopback(args.host):
        raise ConfigError(
            f"refusing to listen on {args.host} without a gateway key: pass --api-key (or set "
            "LLMRELAY_API_KEYS), or --insecure-no-auth to serve anyone who can connect"
        )
    return config


def _to_json(config: GatewayConfig) -> str:
    data = dataclasses.asdict(config)
    data["allowed_fields"] = sorted(config.allowed_fields)
    return json.dumps(data)


def _from_json(text: str) -> GatewayConfig:
    from .config import Upstream

    data = json.loads(text)
    data["allowed_fields"] = frozenset(data["allowed_fields"])
    data["api_keys"] = tuple(data["api_keys"])
    data["upstreams"] = tuple(
        Upstream(**{**u, "models": tuple(u["models"])}) for u in data["upstreams"]
    )
    data["models"] = {k: tuple(v) for k, v in data["models"].items()}
    return GatewayConfig(**data)


def app_from_environment() -> Any:
    """The app for a worker process (uvicorn's factory when --workers > 1)."""
    from .app import create_app

    return create_app(_from_json(os.environ[_CONFIG_VARIABLE]))


def _logging(level: str, access: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("llmrelay.server")
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    if not access:
        logging.getLogger("llmrelay.server.access").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Run the gateway until it is stopped; the exit status."""
    args = parser().parse_args(argv)
    try:
        config = build_config(args)
    except ConfigError as exc:
        print(f"llmrelay serve: {exc}", file=sys.stderr)
        return 2
    try:
        import uvicorn
    except ImportError:
        print(
            "llmrelay serve needs the server extra: pip install 'llmrelay[server]'", file=sys.stderr
        )
        return 2
    _logging(args.log_level, not args.no_access_log)
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "log_level": args.log_level.lower(),
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        "timeout_graceful_shutdown": config.shutdown_timeout,
        "lifespan": "on",
    }
    for name, module in (("loop", "uvloop"), ("http", "httptools")):
        try:
            __import__(module)
        except ImportError:
            continue
        options[name] = module
    if args.workers > 1:
        os.environ[_CONFIG_VARIABLE] = _to_json(config)
        uvicorn.run("llmrelay.server.cli:app_from_environment", factory=True, **options)
    else:
        from .app import create_app

        try:
            app = create_app(config)
        except Exception as exc:  # a route to an unknown provider, …
            print(f"llmrelay serve: {exc}", file=sys.stderr)
            return 2
        uvicorn.run(app, **options)
    return 0
