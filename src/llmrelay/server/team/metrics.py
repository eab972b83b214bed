"""Prometheus counters per key and model (bounded: past the cap, series go to "other")."""

from __future__ import annotations

__all__ = ["TeamMetrics"]

_MAX_SERIES = 5000


def _label(value: str) -> str:
    return value[:120].replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class TeamMetrics:
    def __init__(self) -> None:
        #: (key name, model) → [requests, prompt tokens, completion tokens, micro-USD]
        self.usage: dict[tuple[str, str], list[int]] = {}
        #: (key name, reason) → refusals
        self.refused: dict[tuple[str, str], int] = {}

    def observe(self, key: str, model: str, prompt: int, completion: int, cost: int) -> None:
        series = (key, model)
        row = self.usage.get(series)
        if row is None:
            if len(self.usage) >= _MAX_SERIES:
                series = ("other", "other")
            row = self.usage.setdefault(series, [0, 0, 0, 0])
        row[0] += 1
        row[1] += prompt
        row[2] += completion
        row[3] += cost

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
        for i, (name, text) in enumerate(names):
            lines += [f"# HELP {name} {text}", f"# TYPE {name} counter"]
            for (key, model), row in sorted(self.usage.items()):
                value = row[i] / 1_000_000 if i == 3 else row[i]
                lines.append(f'{name}{{key="{_label(key)}",model="{_label(model)}"}} {value}')
        name = "llmrelay_key_refused_total"
        lines += [f"# HELP {name} Requests refused by key state, limits or budget.",
                  f"# TYPE {name} counter"]  # fmt: skip
        for (key, reason), count in sorted(self.refused.items()):
            lines.append(f'{name}{{key="{_label(key)}",reason="{_label(reason)}"}} {count}')
        return "\n".join(lines) + "\n"
