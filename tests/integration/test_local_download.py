"""Downloading a catalogue model: progress, resume after a cut, checksum, offline error.

A local HTTP server stands in for Hugging Face: it serves a file with Range support and can
cut the first response half-way (headers promise the whole file).
"""

from __future__ import annotations

import hashlib
import io
import pathlib
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from llmrelay.errors import APIConnectionError, IncompleteResponseError
from llmrelay.Provider.local_models import (
    CatalogueModel,
    ChecksumError,
    download,
    stderr_progress,
)

BLOB = bytes(range(256)) * 4096  # 1 MiB


class FileServer:
    def __init__(self) -> None:
        self.ranges: list[str | None] = []
        self.cut_next = False
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        header = request.headers.get("Range")
        self.ranges.append(header)
        start = int(header.removeprefix("bytes=").rstrip("-")) if header else 0
        body = BLOB[start:]
        response = web.StreamResponse(status=206 if header else 200)
        response.content_length = len(body)
        await response.prepare(request)
        if self.cut_next:
            self.cut_next = False
            await response.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write(body)
        await response.write_eof()
        return response


@pytest.fixture
async def server() -> AsyncIterator[FileServer]:
    files = FileServer()
    app = web.Application()
    app.router.add_get("/model.gguf", files.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    files.url = f"http://127.0.0.1:{runner.addresses[0][1]}/model.gguf"
    yield files
    await runner.cleanup()


def entry(sha256: str | None = None) -> CatalogueModel:
    digest = sha256 or hashlib.sha256(BLOB).hexdigest()
    return CatalogueModel("test", "model.gguf", None, digest, len(BLOB), "test")


async def test_download_reports_progress_and_verifies(
    server: FileServer, tmp_path: pathlib.Path
) -> None:
    seen: list[tuple[int, int | None]] = []
    path = await download(
        entry(), tmp_path, url=server.url, progress=lambda d, t: seen.append((d, t)),
        chunk_size=65536,
    )  # fmt: skip
    assert path.read_bytes() == BLOB
    assert seen[0] == (0, len(BLOB))
    assert seen[-1] == (len(BLOB), len(BLOB))
    assert len(seen) > 3
    assert not (tmp_path / "model.gguf.part").exists()
    # Already there: no second request.
    assert await download(entry(), tmp_path, url=server.url, progress=lambda d, t: None) == path
    assert server.ranges == [None]


async def test_a_cut_download_resumes_with_a_range_request(
    server: FileServer, tmp_path: pathlib.Path
) -> None:
    server.cut_next = True
    with pytest.raises(IncompleteResponseError, match="resume"):
        await download(entry(), tmp_path, url=server.url, progress=lambda d, t: None)
    part = tmp_path / "model.gguf.part"
    have = part.stat().st_size
    assert 0 < have < len(BLOB)
    path = await download(entry(), tmp_path, url=server.url, progress=lambda d, t: None)
    assert server.ranges == [None, f"bytes={have}-"]
    assert path.read_bytes() == BLOB


async def test_checksum_mismatch_is_an_error_and_drops_the_file(
    server: FileServer, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(ChecksumError, match="sha256"):
        await download(entry("0" * 64), tmp_path, url=server.url, progress=lambda d, t: None)
    assert not (tmp_path / "model.gguf").exists()
    assert not (tmp_path / "model.gguf.part").exists()


async def test_offline_error_names_the_url_and_the_cache_path(tmp_path: pathlib.Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/model.gguf"
    with pytest.raises(APIConnectionError) as caught:
        await download(entry(), tmp_path, url=url, progress=lambda d, t: None)
    assert url in str(caught.value)
    assert str(tmp_path / "model.gguf") in str(caught.value)


def test_progress_on_a_pipe_is_a_few_lines() -> None:
    out = io.StringIO()
    show = stderr_progress(out)
    for done in range(0, 101, 5):
        show(done * 10_000, 1_000_000)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("downloaded 0.0 MB (0%)")
    assert lines[-1] == "downloaded 1.0 MB (100%)"
    assert len(lines) == 5
