"""`<think>` blocks in content become Reasoning, whatever the chunk boundaries."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llmrelay.providers.response import Reasoning
from llmrelay.providers.think import ThinkTags

TEXT = "<think>\nLet me see: 2+2.\n</think>\n\nIt is 4 <b>bold</b> and a < b."


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    pieces, start = [], 0
    for point in [*points, len(text)]:
        pieces.append(text[start:point])
        start = point
    return pieces


def run(pieces: list[str]) -> tuple[str, str]:
    tags = ThinkTags()
    out = [chunk for piece in pieces for chunk in tags.feed(piece)] + tags.flush()
    reasoning = "".join(c.token or "" for c in out if isinstance(c, Reasoning))
    text = "".join(c for c in out if isinstance(c, str))
    return reasoning, text


def test_whole() -> None:
    assert run([TEXT]) == ("\nLet me see: 2+2.\n", "It is 4 <b>bold</b> and a < b.")


@given(st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_any_split(cuts: list[int]) -> None:
    assert run(split(TEXT, cuts)) == run([TEXT])


def test_text_without_tags_passes_through_untouched() -> None:
    assert run(["a < b", " and <thinking aloud>", " <thin"]) == (
        "",
        "a < b and <thinking aloud> <thin",
    )


def test_an_unclosed_block_is_all_reasoning() -> None:
    assert run(["<think>still thinking", " about it"]) == ("still thinking about it", "")
