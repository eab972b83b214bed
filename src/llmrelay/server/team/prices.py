"""The price table: data (prices.json in this package, or `--prices FILE`), not code."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

__all__ = ["Prices"]


class Prices:
    """USD per million input/output tokens per model; costs in micro-USD integers."""

    def __init__(self, table: dict[str, tuple[float, float]]) -> None:
        self.table = table

    @classmethod
    def load(cls, path: str | None = None) -> Prices:
        if path:
            text = Path(path).read_text(encoding="utf-8")
        else:
            text = resources.files(__package__).joinpath("prices.json").read_text("utf-8")
        data = json.loads(text)
        table: dict[str, tuple[float, float]] = {}
        for model, entry in data.items():
            if model.startswith("_"):
                continue
            if not isinstance(entry, dict) or not {"input", "output"} <= set(entry):
                raise ValueError(f"prices: {model!r} needs input and output (USD per 1M tokens)")
            table[model] = (float(entry["input"]), float(entry["output"]))
        return cls(table)

    def of(self, model: str) -> tuple[float, float] | None:
        """The price of `model` ("provider/model" too), or of its longest listed prefix."""
        name = model.rsplit("/", 1)[-1]
        while name:
            if name in self.table:
                return self.table[name]
            if "-" not in name:
                return None
            name = name.rsplit("-", 1)[0]
        return None

    def cost(self, model: str, prompt: int, completion: int) -> int | None:
        """Micro-USD, rounded up; None when the model has no price."""
        price = self.of(model)
        if price is None:
            return None
        return math.ceil(prompt * price[0] + completion * price[1])
