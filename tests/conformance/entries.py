"""Every conformance entry: the `ENTRY` of each `entry_*.py` module beside this one."""

from __future__ import annotations

import importlib
import pathlib

from conformance.harness import Entry

ENTRIES: list[Entry] = [
    importlib.import_module(f"conformance.{path.stem}").ENTRY
    for path in sorted(pathlib.Path(__file__).parent.glob("entry_*.py"))
]
