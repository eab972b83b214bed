"""Soak test (not in CI): bounded mixed traffic through the client for a while, printing this
process's memory, file descriptors, asyncio tasks and threads every 30 s. Flat means pass.

    .venv/bin/python bench/soak.py [--minutes 10] [--concurrency 16] [--interval 30]

The upstream is bench/upstream.py (its own process). The mix, drawn at random per request:
answers and 100-chunk streams through `AsyncClient`; the same through the sync `Client` from
worker threads; streams abandoned after a few chunks (`break`, then closed); tasks cancelled
mid-stream; requests refused before any I/O (a bad parameter); and connection failures (a port
nobody listens on). Every outcome is counted; an unexpected exception type stops the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from common import free_port, upstream
from llmrelay.client import AsyncClient, Client
from llmrelay.errors import APIConnectionError, InvalidRequestError

MESSAGES = [{"role": "user", "content": "Say something."}]


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Soak:
    def __init__(self, base: str, concurrency: int) -> None:
        self.base = base
        self.dead = f"http://127.0.0.1:{free_port()}/v1"
        self.client = AsyncClient(base_url=base, api_key="sk-soak")
        self.sync_client = Client(base_url=base, api_key="sk-soak")
        self.threads = ThreadPoolExecutor(max_workers=4)
        self.limit = asyncio.Semaphore(concurrency)
        self.outcomes: Counter[str] = Counter()

    async def answer(self) -> None:
        completion = await self.client.chat.completions.create(model="bench", messages=MESSAGES)
        assert completion.choices[0].message.content  # type: ignore[union-attr]

    async def stream(self) -> None:
        chunks = self.client.chat.completions.create(model="bench", messages=MESSAGES, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in chunks])  # type: ignore[union-attr]
        assert text.startswith("t0 ")

    async def abandon(self) -> None:
        chunks = self.client.chat.completions.create(model="bench", messages=MESSAGES, stream=True)
        seen = 0
        async for _ in chunks:  # type: ignore[union-attr]
            seen += 1
            if seen == 5:
                break
        await chunks.aclose()  # type: ignore[union-attr]

    async def cancel(self) -> None:
        task = asyncio.create_task(self.stream())
        await asyncio.sleep(random.random() * 0.005)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def refused(self) -> None:
        try:
            await self.client.chat.completions.create(
                model="bench", messages=MESSAGES, max_retries=-1
            )
        except InvalidRequestError:
            return
        raise AssertionError("a bad parameter was accepted")

    async def unreachable(self) -> None:
        client = AsyncClient(base_url=self.dead, api_key="sk-soak")
        try:
            await client.chat.completions.create(model="bench", messages=MESSAGES, max_retries=0)
        except APIConnectionError:
            return
        raise AssertionError("a dead port answered")

    def _sync(self, stream: bool) -> None:
        completions = self.sync_client.chat.completions
        if stream:
            chunks = completions.create(model="bench", messages=MESSAGES, stream=True)
            assert "".join(c.choices[0].delta.content or "" for c in chunks)  # type: ignore[union-attr]
        else:
            assert completions.create(model="bench", messages=MESSAGES).choices  # type: ignore[union-attr]

    async def sync(self) -> None:
        await asyncio.get_running_loop().run_in_executor(
            self.threads, self._sync, random.random() < 0.5
        )

    async def one(self) -> None:
        kinds: list[tuple[str, Any]] = [
            ("answer", self.answer), ("stream", self.stream), ("abandon", self.abandon),
            ("cancel", self.cancel), ("refused", self.refused),
            ("unreachable", self.unreachable), ("sync", self.sync),
        ]  # fmt: skip
        name, run = random.choices(kinds, weights=[30, 30, 10, 10, 5, 5, 10])[0]
        async with self.limit:
            await run()
        self.outcomes[name] += 1

    def report(self, start: float) -> None:
        gc.collect()
        print(
            f"{time.monotonic() - start:7.0f} s  rss {rss_mib():7.1f} MiB  fds {fds():4d}  "
            f"tasks {len(asyncio.all_tasks()):4d}  threads {threading.active_count():3d}  "
            f"requests {sum(self.outcomes.values()):7d}",
            flush=True,
        )

    async def run(self, seconds: float, interval: float, concurrency: int) -> None:
        start = time.monotonic()
        self.report(start)
        next_report = start + interval
        pending: set[asyncio.Task[None]] = set()
        while time.monotonic() < start + seconds:
            while len(pending) < concurrency * 2:
                pending.add(asyncio.create_task(self.one()))
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # an unexpected exception stops the soak
            if time.monotonic() >= next_report:
                self.report(start)
                next_report += interval
        for task in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(task, BaseException):
                raise task
        self.threads.shutdown()
        self.report(start)
        print("outcomes:", dict(sorted(self.outcomes.items())), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--interval", type=float, default=30.0)
    args = parser.parse_args()
    with upstream() as base:
        soak = Soak(base, args.concurrency)
        asyncio.run(soak.run(args.minutes * 60, args.interval, args.concurrency))


if __name__ == "__main__":
    main()
