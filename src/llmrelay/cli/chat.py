"""`llmrelay chat`: one answer streamed to stdout, or an interactive session."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Asker", "add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "chat",
        help="ask a question (no prompt: an interactive session)",
        description="Stream an answer to stdout. Piped stdin is added to the prompt "
        "(`cat notes.txt | llmrelay chat 'summarise'`). Without a prompt on a terminal: an "
        "interactive session (/help lists its commands). With no provider, model or key "
        "configured, the local model answers.",
    )
    p.add_argument("prompt", nargs="?", help="the question (stdin is read when piped)")
    p.add_argument("-p", "--provider", help="provider name (see `llmrelay providers`)")
    p.add_argument("-m", "--model", help="model name, a .gguf file or a catalogue model")
    p.add_argument("-s", "--system", help="system prompt")
    p.add_argument("-i", "--image", action="append", default=[], metavar="PATH",
                   help="attach an image (repeatable)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="ask for a JSON object")
    p.add_argument("-t", "--temperature", type=float, help="sampling temperature")
    p.add_argument("--max-tokens", type=int, help="longest answer, in tokens")
    p.add_argument("--seed", type=int, help="sampling seed (where the provider takes one)")
    p.add_argument("--no-stream", action="store_true", help="print the answer once complete")
    p.add_argument("--no-log", action="store_true", help="do not record this exchange")
    p.add_argument("-c", "--continue", dest="continue_", action="store_true",
                   help="continue the last logged conversation")  # fmt: skip
    p.add_argument("--usage", action="store_true", help="print token usage to stderr")


@dataclass
class Asker:
    """Asks questions with the chosen provider and model, keeping the conversation."""

    provider: str | None
    model: str
    options: dict[str, Any]
    system: str | None = None
    log: Any = None  # LogStore or None
    conversation_id: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    quiet: bool = False
    #: (provider, model, usage) of the last answer.
    last: tuple[str | None, str | None, Any] = (None, None, None)

    def __post_init__(self) -> None:
        from ..client import Client

        self.client = Client()
        if not self.conversation_id:
            from .logstore import LogStore

            self.conversation_id = LogStore.new_conversation()

    def clear(self) -> None:
        self.messages.clear()

    def ask(self, prompt: str, *, stream: bool = True, images: list[str] | None = None) -> str:
        """Print the answer to stdout as it comes (reasoning to stderr); return its text."""
        from .output import Style

        sent = [*self.messages, {"role": "user", "content": prompt}]
        if self.system and not any(m["role"] == "system" for m in sent):
            sent.insert(0, {"role": "system", "content": self.system})
        params = dict(self.options)
        if images:
            params["media"] = [(path, path) for path in images]
        started = time.monotonic()
        dim = Style(sys.stderr).dim
        text: list[str] = []
        usage = None
        provider = model = None
        result = self.client.chat.completions.create(
            messages=sent, model=self.model, provider=self.provider, stream=stream, **params
        )
        if stream:
            try:
                for chunk in result:  # type: ignore[union-attr]
                    provider, model = chunk.provider or provider, chunk.model or model
                    usage = chunk.usage or usage
                    if not chunk.choices:
                        continue
                    delta = chunk.choices[0].delta
                    if delta.reasoning_content and not self.quiet:
                        sys.stderr.write(dim(delta.reasoning_content))
                        sys.stderr.flush()
                    if delta.content:
                        text.append(delta.content)
                        sys.stdout.write(delta.content)
                        sys.stdout.flush()
            finally:
                result.close()  # type: ignore[union-attr]
        else:
            message = result.choices[0].message  # type: ignore[union-attr]
            if message.reasoning_content and not self.quiet:
                sys.stderr.write(dim(message.reasoning_content) + "\n")
            text.append(message.content or "")
            sys.stdout.write(message.content or "")
            provider, model, usage = result.provider, result.model, result.usage  # type: ignore[union-attr]
        answer = "".join(text)
        if not answer.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
        self.messages[:] = [*sent, {"role": "assistant", "content": answer}]
        self.last = (provider, model, usage)
        if self.log is not None:
            self.log.record(
                self.conversation_id, prompt, answer, provider=provider, model=model,
                system=self.system, duration_ms=int((time.monotonic() - started) * 1000),
                prompt_tokens=getattr(usage, "prompt_tokens", None),
                completion_tokens=getattr(usage, "completion_tokens", None),
            )  # fmt: skip
        return answer


def _stdin_text() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        return ""
    return sys.stdin.read()


def build_asker(args: argparse.Namespace) -> Asker:
    """An `Asker` from the arguments, the environment and the config file."""
    from .logstore import LogStore
    from .settings import Settings, apply_keys, data_dir

    apply_keys()
    arguments = {"provider": args.provider, "model": args.model, "system": args.system,
                 "temperature": args.temperature, "max_tokens": args.max_tokens}  # fmt: skip
    if args.no_log:
        arguments["log"] = False
    settings = Settings.load(arguments)
    model = settings.get("model") or ""
    # No provider named: the client routes the model (no model and no key: the local model).
    provider = args.provider or settings.get("provider")
    options: dict[str, Any] = {}
    for name in ("temperature", "max_tokens"):
        if settings.get(name) is not None:
            options[name] = settings.get(name)
    if args.seed is not None:
        options["seed"] = args.seed
    if args.json:
        options["response_format"] = {"type": "json_object"}
    log = LogStore(data_dir() / "logs.db") if settings.get("log") else None
    asker = Asker(provider, model, options, system=settings.get("system"), log=log,
                  quiet=args.quiet)  # fmt: skip
    if args.continue_:
        store = log or LogStore(data_dir() / "logs.db")
        last = store.last_conversation()
        if last is None:
            from ..errors import InvalidRequestError

            raise InvalidRequestError(
                "no logged conversation to continue (`llmrelay logs` lists them)"
            )
        asker.conversation_id = last
        for exchange in store.conversation(last):
            asker.messages += [{"role": "user", "content": exchange.prompt},
                               {"role": "assistant", "content": exchange.answer}]  # fmt: skip
    return asker


def _fetch_quietly(asker: Asker) -> None:
    """With --quiet, download a catalogue model first without the progress bar."""
    from ..Provider import local_models

    entry = local_models.CATALOGUE.get(asker.model)
    if asker.provider != "LocalLlama" or entry is None or entry.url is None:
        return
    if local_models.resolve_model_path(asker.model) is None:
        from ..providers.asyncio import run_sync

        run_sync(local_models.download(entry, progress=lambda done, total: None))


def run(args: argparse.Namespace) -> int:
    from .output import USAGE, error_line

    for path in args.image:
        if not os.path.isfile(path):
            error_line(f"--image {path}: no such file")
            return USAGE
    piped = _stdin_text()
    prompt = "\n\n".join(p for p in (piped.strip("\n"), args.prompt or "") if p)
    try:
        asker = build_asker(args)
    except ValueError as exc:
        error_line(str(exc))
        return USAGE
    if not prompt:
        if sys.stdin is not None and sys.stdin.isatty():
            from .session import interactive

            return interactive(asker, images=args.image, quiet=args.quiet)
        error_line('no prompt: give one as an argument or on stdin (`llmrelay chat "…"`)')
        return USAGE
    if args.quiet:
        _fetch_quietly(asker)
    asker.ask(prompt, stream=not args.no_stream, images=args.image)
    if args.usage and asker.last[2] is not None:
        u = asker.last[2]
        sys.stderr.write(f"usage: {u.prompt_tokens} prompt + {u.completion_tokens} completion "
                         f"tokens ({asker.last[0]}, {asker.last[1]})\n")  # fmt: skip
    return 0
