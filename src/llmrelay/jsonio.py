"""JSON on the hot paths (stream events, bodies in and out): orjson when it is installed (the
`server` extra brings it), else the standard library, with the same results.

`loads` takes what `json.loads` takes: what orjson refuses (NaN and infinities, integers past
64 bits) is handed to the standard library, whose `ValueError` is raised for what neither
reads. `dumps` gives compact UTF-8 bytes, as
``json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()`` does; what orjson
cannot write (integers past 64 bits, keys that are not strings) is written by the standard
library. One difference remains: NaN and infinities, which JSON has no words for, are written
as `null` by orjson (the standard library writes `NaN`, which no JSON parser reads).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["dumps", "loads"]

_std_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _std_loads(data: bytes | bytearray | memoryview | str) -> Any:
    return json.loads(bytes(data) if isinstance(data, memoryview) else data)


def _std_dump_bytes(value: Any) -> bytes:
    return _std_dumps(value).encode()


loads: Callable[[bytes | bytearray | memoryview | str], Any]
dumps: Callable[[Any], bytes]

try:
    import orjson
except ImportError:  # the standard library alone
    loads, dumps = _std_loads, _std_dump_bytes
else:
    _fast_loads, _fast_dumps, _DecodeError = orjson.loads, orjson.dumps, orjson.JSONDecodeError

    def loads(data: bytes | bytearray | memoryview | str) -> Any:
        try:
            return _fast_loads(data)
        except _DecodeError:
            return _std_loads(data)  # NaN, big integers, or the standard error for bad JSON

    def dumps(value: Any) -> bytes:
        try:
            return _fast_dumps(value)
        except TypeError:
            return _std_dump_bytes(value)  # big integers, non-string keys, or its TypeError
