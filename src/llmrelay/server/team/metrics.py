"""Prometheus counters per key and model (bounded: past the cap, series go to "other")."""

from __future__ import annotations

__all__ = ["TeamMetrics"]

_MAX_SERIES = 5000


def _label(value: str) -> str:
    return value[:120].replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _row(table: dict[tuple[str, str], list[int]], series: tuple[str, str], width: int) -> list[int]:
    """The counters of `series` (past the cap, the shared "other" row)."""
    row = table.get(series)
    if row is None:
        if len(table) >= _MAX_SERIES:
            series = ("other", "other")
        row = table.setdefault(series, [0] * width)
    return row


def _counters(
    lines: list[str], table: dict[tuple[str, str], list[int]], names: tuple[tuple[str, str], ...]
) -> None:
    """One counter per name, a series per (key, model) row; `*_usd_total` from micro-USD."""
    for i, (name, text) in enumerate(names):
        lines += [f"# HELP {name} {text}", f"# TYPE {name} counter"]
        scale = 1_000_000 if name.endswith("_usd_total") else 1
        for (key, model), row in sorted(table.items()):
            value = row[i] / scale if scale > 1 else row[i]
            lines.append(f'{name}{{key="{_label(key)}",model="{_label(model)}"}} {value}')


class TeamMetrics:
    def __init__(self) -> None:
        #: (key name, model) → [requests, prompt tokens, completion tokens, micro-USD]
        self.usage: dict[tuple[str, str], list[int]] = {}
        #: (key name, reason) → refusals
        self.refused: dict[tuple[str, str], int] = {}
        #: (key name, model) → [response cache hits, misses]
        self.lookups: dict[tuple[str, str], list[int]] = {}

    def observe(self, key: str, model: str, prompt: int, completion: int, cost: int) -> None:
        row = _row(self.usage, (key, model), 4)
        row[0] += 1
        row[1] += prompt
        row[2] += completion
        row[3] += cost

    def cache(self, key: str, model: str, hit: bool) -> None:
        _row(self.lookups, (key, model), 2)[0 if hit else 1] += 1

    def refuse(self, key: str, reason: str) -> None:
        series = (key, reason) if len(self.refused) < _MAX_SERIES else ("other", reason)
        self.refused[series] = self.refused.get(series, 0) + 1

    def render(self) -> str:
        lines: list[str] = []
        names = (
            ("llmrelay_key_requests_total", "Requests made with each virtual key, per model."),
            ("llmrelay_key_prompt_tokens_total", "Prompt tokens per virtual key and model."),
            ("llmrelay_key_completion_tokens_total", "Completion tokens per key and model."),
            ("llmrelay_key_cost_usd_total", "Spend in USD per virtual key and model."),
        )
        _counters(lines, self.usage, names)
        name = "llmrelay_key_refused_total"
        lines += [f"# HELP {name} Requests refused by key state, limits or budget.",
                  f"# TYPE {name} counter"]  # fmt: skip
        for (key, reason), count in sorted(self.refused.items()):
            lines.append(f'{name}{{key="{_label(key)}",reason="{_label(reason)}"}} {count}')
        lookups = (
            ("llmrelay_cache_hits_total", "Answers served from the response cache, per key."),
            ("llmrelay_cache_misses_total", "Response cache lookups that found nothing."),
        )
        _counters(lines, self.lookups, lookups)
        return "\n".join(lines) + "\n"
