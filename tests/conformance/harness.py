"""The conformance suite's plug: one `Entry` per provider.

Every provider runs the same tests (`test_conformance.py`) against a fake upstream that speaks
its wire format. An entry says how to start that fake, which parameters point the provider at
it, and how to read what the provider sent (`Wire`), so the tests can check that a system
prompt, a multi-turn history, an image, a tool and its result, or a JSON schema mean the same
thing to every provider.

A fake upstream takes the behaviours of `support.fake_openai` (`Reply`, `ToolCall`, `Usage`,
`Status`, `StreamThenError`, `CutStream`) through `script(...)` and renders them in its own
wire format, records requests in `requests` (with `.body` the parsed JSON) and serves at
`base_url`. Add a provider by writing `tests/conformance/entry_<name>.py` that defines
`ENTRY = Entry(...)`; `entries.py` collects every such module. How to write the provider
itself, and what it must yield: CONTRIBUTING.md at the top of the repository.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol


class Upstream(Protocol):
    base_url: str
    requests: Sequence[Any]  # each with .body (parsed JSON), .headers, .path, .query

    def script(self, *behaviours: Any) -> None: ...


class Wire(Protocol):
    """Reads a recorded request body in the provider's format."""

    def system(self, body: Any) -> str | None:
        """The system prompt as sent, or None."""

    def turns(self, body: Any) -> list[tuple[str, str]]:
        """(role, text) of each non-system message, roles named user / assistant / tool."""

    def image_count(self, body: Any) -> int:
        """How many images the request carries."""

    def tool_names(self, body: Any) -> list[str]:
        """Names of the tools (functions) offered."""

    def tool_results(self, body: Any) -> list[tuple[str, str]]:
        """(tool call id, result text) of the tool results sent back."""

    def json_schema(self, body: Any) -> Any:
        """The JSON schema the answer must follow, as sent, or None."""


@dataclass(frozen=True)
class Entry:
    name: str
    provider: Any  # a provider class
    model: str
    upstream: Callable[[], AbstractAsyncContextManager[Any]]  # starts the fake (an Upstream)
    params: Callable[[Any], dict[str, Any]]  # provider parameters pointing at the fake
    wire: Wire
    #: Whether an image given as an https URL can be sent as is (else it must be refused).
    image_urls: bool = True
