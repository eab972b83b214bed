"""The 20 MiB cap on each media item, whatever form it comes in."""

from __future__ import annotations

import base64
import io
import pathlib

import pytest

from llmrelay.errors import InvalidRequestError
from llmrelay.providers.media import MAX_MEDIA_BYTES, load_media

LIMIT = MAX_MEDIA_BYTES


def test_the_cap_is_20_mib() -> None:
    assert LIMIT == 20 << 20


def test_bytes_at_the_cap_pass_and_over_it_are_refused() -> None:
    assert load_media([bytes(LIMIT)])[0].mime_type == "application/octet-stream"
    with pytest.raises(InvalidRequestError, match="larger than 20 MB"):
        load_media([bytes(LIMIT + 1)])


def test_a_file_over_the_cap_is_refused_before_it_is_read(tmp_path: pathlib.Path) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as handle:
        handle.truncate(LIMIT + 1)  # sparse: no 20 MB written
    for item in (big, str(big)):
        with pytest.raises(InvalidRequestError, match=r"media file .* is larger than 20 MB"):
            load_media([item])


def test_a_file_object_over_the_cap_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="larger than 20 MB"):
        load_media([(io.BytesIO(bytes(LIMIT + 1)), "x.bin")])


def test_a_data_uri_over_the_cap_is_refused() -> None:
    payload = base64.b64encode(bytes(LIMIT + 3)).decode()
    with pytest.raises(InvalidRequestError, match="larger than 20 MB"):
        load_media([f"data:image/png;base64,{payload}"])
    small = base64.b64encode(bytes(LIMIT - 3)).decode()
    assert load_media([f"data:image/png;base64,{small}"])[0].mime_type == "image/png"
