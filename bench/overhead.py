"""CPU per request of llmrelay (provider, AsyncClient, sync Client) vs raw aiohttp, in one run.

    .venv/bin/python bench/overhead.py [--requests 2000] [--rounds 5]

Every client calls the same local upstream (bench/upstream.py, its own process, answering at
once), sequentially; the figure is this process's CPU time per request (time.process_time,
all threads, so the sync client's bridge thread counts), so the upstream's work is not
counted. Rounds alternate the clients and the median round is reported. Targets
(shared/TARGETS.md): one answer <= 1.5x, a 100-chunk stream <= 1.3x raw aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp

from common import upstream
from llmrelay.client import AsyncClient, Client
from llmrelay.Provider import OpenaiTemplate
from llmrelay.transport.pool import aclose_connections

MESSAGES = [{"role": "user", "content": "Say something."}]


def raw_client(
    session: aiohttp.ClientSession, base: str
) -> dict[str, Callable[[], Awaitable[str]]]:
    url = f"{base}/chat/completions"
    headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}

    async def answer() -> str:
        body = json.dumps({"model": "bench", "messages": MESSAGES}).encode()
        async with session.post(url, data=body, headers=headers) as response:
            data = json.loads(await response.read())
            return str(data["choices"][0]["message"]["content"])

    async def stream() -> str:
        body = json.dumps({"model": "bench", "messages": MESSAGES, "stream": True}).encode()
        parts = []
        async with session.post(url, data=body, headers=headers) as response:
            async for line in response.content:
                if line.startswith(b"data: ") and line[6:12] != b"[DONE]":
                    for choice in json.loads(line[6:])["choices"]:
                        if content := choice["delta"].get("content"):
                            parts.append(content)
        return "".join(parts)

    return {"answer": answer, "stream": stream}


def llmrelay_client(base: str) -> dict[str, Callable[[], Awaitable[str]]]:
    create = OpenaiTemplate.get_async_create_function()

    async def run(stream: bool) -> str:
        parts = []
        async for chunk in create(
            "bench", MESSAGES, api_base=base, api_key="sk-bench", stream=stream
        ):
            if isinstance(chunk, str):
                parts.append(chunk)
        return "".join(parts)

    return {"answer": lambda: run(False), "stream": lambda: run(True)}


def async_client(base: str) -> dict[str, Callable[[], Awaitable[str]]]:
    completions = AsyncClient(base_url=base, api_key="sk-bench").chat.completions

    async def answer() -> str:
        completion = await completions.create(model="bench", messages=MESSAGES)  # type: ignore[misc]
        return str(completion.choices[0].message.content)

    async def stream() -> str:
        chunks = completions.create(model="bench", messages=MESSAGES, stream=True)
        return "".join([c.choices[0].delta.content or "" async for c in chunks])  # type: ignore[union-attr]

    return {"answer": answer, "stream": stream}


class Sync:
    """A blocking call, timed from a thread with no event loop running, as a script calls it
    (the sync client then runs the async code on that thread's own loop)."""

    def __init__(self, call: Callable[[], str]) -> None:
        self.call = call


def sync_client(base: str) -> dict[str, Sync]:
    completions = Client(base_url=base, api_key="sk-bench").chat.completions

    def answer() -> str:
        completion = completions.create(model="bench", messages=MESSAGES)
        return str(completion.choices[0].message.content)  # type: ignore[union-attr]

    def stream() -> str:
        chunks = completions.create(model="bench", messages=MESSAGES, stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks)  # type: ignore[union-attr]

    return {"answer": Sync(answer), "stream": Sync(stream)}


def cpu_per_request(
    runner: asyncio.Runner, call: Callable[[], Awaitable[str]] | Sync, count: int
) -> float:
    """CPU per call: async calls awaited on the runner's loop; sync ones made from this
    thread while no loop runs in it, as a script makes them."""
    if isinstance(call, Sync):
        start = time.process_time()
        for _ in range(count):
            call.call()
        return (time.process_time() - start) / count

    async def loop() -> float:
        start = time.process_time()
        for _ in range(count):
            await call()
        return (time.process_time() - start) / count

    return runner.run(loop())


def first(runner: asyncio.Runner, call: Callable[[], Awaitable[str]] | Sync) -> str:
    return call.call() if isinstance(call, Sync) else runner.run(call())  # type: ignore[arg-type]


def main(requests: int, rounds: int) -> None:
    with upstream() as base, asyncio.Runner() as runner:
        session = runner.run(open_session())
        clients: dict[str, dict[str, Callable[[], Awaitable[str]]] | dict[str, Sync]] = {
            "raw aiohttp": raw_client(session, base),
            "provider": llmrelay_client(base),
            "AsyncClient": async_client(base),
            "Client (sync)": sync_client(base),
        }
        for calls in clients.values():  # warm up, and check both get answers
            if not (first(runner, calls["answer"]) and first(runner, calls["stream"])):
                raise RuntimeError("empty answer from the upstream")
        results: dict[tuple[str, str], list[float]] = {}
        for _ in range(rounds):
            for kind in ("answer", "stream"):
                count = requests if kind == "answer" else max(requests // 4, 50)
                for name, calls in clients.items():
                    per = cpu_per_request(runner, calls[kind], count)
                    results.setdefault((name, kind), []).append(per)
        runner.run(session.close())
        runner.run(aclose_connections())
    print(f"{'client':<16}{'one answer (20 tokens)':>24}{'stream, 100 chunks':>22}")
    medians = {key: statistics.median(values) for key, values in results.items()}
    for name in clients:
        cells = []
        for kind in ("answer", "stream"):
            value = medians[(name, kind)]
            ratio = value / medians[("raw aiohttp", kind)]
            cells.append(f"{value * 1000:.3f} ms ({ratio:.2f}x)")
        print(f"{name:<16}{cells[0]:>24}{cells[1]:>22}")
    print(
        "\ntargets: AsyncClient <= 1.3x one answer, <= 1.15x stream; "
        "sync Client <= 1.5x, <= 1.3x raw aiohttp"
    )


async def open_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    main(args.requests, args.rounds)
